using Distill.Tensors.Autograd;
using Distill.Tensors.Kernels;

namespace Distill.Models;

/// <summary>What <see cref="CausalLM.PackFrozenWeights"/> did: weights packed, their bytes, and those left unpacked for the budget.</summary>
public sealed record PackedWeightsReport(int Packed, long Bytes, int Skipped)
{
    public override string ToString() => $"{Packed} frozen weights packed for the GEMM ({Bytes / 1e6:F0} MB){(Skipped > 0 ? $", {Skipped} left unpacked (budget)" : "")}";
}

public abstract partial class CausalLM
{
    /// <summary>
    /// Packs every frozen dense weight of a linear (and the output head's) once into the GEMM's panels
    /// (<see cref="PackedLinearWeight"/>), so the training steps that follow read them instead of packing W at each of
    /// its products — the forward's x·Wᵀ and, unless <paramref name="forwardOnly"/> (a teacher, a reference), the input
    /// gradient's dy·W. The results are the same bit for bit. Weights are taken in order while their packed copies fit
    /// <paramref name="budgetBytes"/>; NF4 (QLoRA) and trainable weights are never packed. Drop the copies with
    /// <see cref="UnpackFrozenWeights"/> when done (the trainer does at the end of a run); changing a weight through
    /// LinearLayer.SetDenseWeight drops its copy.
    /// </summary>
    public PackedWeightsReport PackFrozenWeights(long budgetBytes, bool forwardOnly = false)
    {
        int packed = 0, skipped = 0;
        long bytes = 0;
        foreach (var p in FrozenDenseWeights())
        {
            var w = p.Value;
            if (w.Packed is { } existing && (forwardOnly || existing.Backward is not null)) { bytes += existing.Bytes; packed++; continue; }
            long need = PackedLinearWeight.BytesFor(w.Rows, w.Cols, forwardOnly);
            if (bytes + need > budgetBytes) { skipped++; continue; }
            w.Packed = PackedLinearWeight.Pack(p.Span, w.Rows, w.Cols, forwardOnly);
            bytes += w.Packed.Bytes;
            packed++;
        }
        return new PackedWeightsReport(packed, bytes, skipped);
    }

    /// <summary>Drops every packed copy <see cref="PackFrozenWeights"/> made (their memory goes with the next GC).</summary>
    public void UnpackFrozenWeights()
    {
        foreach (var l in Linears) if (l.Weight is { } w) w.Value.Packed = null;
        if (HeadWeight() is { } head) head.Value.Packed = null;
    }

    /// <summary>The dense, frozen weights the linears (and the head) multiply by: each parameter once (a tied head is the embedding).</summary>
    IEnumerable<Parameter> FrozenDenseWeights()
    {
        var seen = new HashSet<Parameter>(ReferenceEqualityComparer.Instance);
        foreach (var l in Linears)
            if (l.Weight is { Trainable: false } w && w.Value.Rank == 2 && seen.Add(w)) yield return w;
        if (HeadWeight() is { Trainable: false } head && head.Value.Rank == 2 && seen.Add(head)) yield return head;
    }
}
