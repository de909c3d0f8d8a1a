using Distill.Tensors;
using Distill.Tensors.Autograd;
using Distill.Tensors.Autograd.Ops;
using Distill.Tensors.Quantization;

namespace Distill.Models;

/// <summary>What <see cref="CausalLM.UseInferenceWeights"/> did: matrices held in 8 bits (or bf16), their bytes, and the linears left in float.</summary>
public sealed record InferenceWeightsReport(InferenceWeights Weights, int Quantized, long Parameters, long Bytes, IReadOnlyList<string> KeptFloat)
{
    static string Format(InferenceWeights w) => w switch { InferenceWeights.Q8 => "q8_0", InferenceWeights.Q8Row => "q8row (int8, one scale per row)", _ => w.Name() };

    public override string ToString() => Weights == InferenceWeights.F32 ? "weights f32"
        : $"weights {Format(Weights)}: {Quantized} matrices, {Parameters / 1e6:F1} M parameters in {Bytes / 1e6:F1} MB"
          + (KeptFloat.Count > 0 ? $"; {KeptFloat.Count} kept float ({string.Join(", ", KeptFloat.Take(3))}{(KeptFloat.Count > 3 ? ", …" : "")})" : "");
}

public abstract partial class CausalLM
{
    IInferenceMatrix? _q8Head;
    Parameter? _q8HeadOf;

    /// <summary>The weights forward-only passes currently use.</summary>
    public InferenceWeights InferenceWeights { get; private set; } = InferenceWeights.F32;

    /// <summary>
    /// Chooses the weights of forward-only (NoGrad) passes. q8 / q8row / bf16: every frozen linear (for the 8-bit formats:
    /// whose in_features is a multiple of 32), and the output head (lm_head or the tied embedding), get a q8_0, per-row
    /// int8 (<see cref="Q8Matrix"/>) or bf16 (<see cref="Bf16Matrix"/>) copy beside their float
    /// weights; forward-only passes that ask for them (Tape.InferenceWeights: sampling, reward scoring) use it, every
    /// other pass keeps the float weights. LoRA adapters stay float. A trainable
    /// weight keeps float (its copy would go stale at the next optimizer step): freeze the base first (LoRA does).
    /// Call again after changing the frozen weights (merging, loading) — SetDenseWeight drops a stale copy itself.
    /// </summary>
    public InferenceWeightsReport UseInferenceWeights(InferenceWeights weights)
    {
        InferenceWeights = weights;
        bool q8 = weights != InferenceWeights.F32;
        int count = 0;
        long parameters = 0, bytes = 0;
        var kept = new List<string>();
        foreach (var l in Linears)
        {
            if (l.SetInference(weights))
            {
                count++;
                parameters += (long)l.InFeatures * l.OutFeatures;
                bytes += l.Inference!.Bytes;
            }
            else if (q8) kept.Add(l.Path);
        }
        _q8Head = null;
        _q8HeadOf = null;
        if (q8 && HeadWeight() is { } head)
        {
            if (head.Trainable || !weights.Fits(head.Value.Cols)) kept.Add(head.Name);
            else
            {
                _q8Head = weights.Convert(head.Span, head.Value.Rows, head.Value.Cols);
                _q8HeadOf = head;
                count++;
                parameters += head.Length;
                bytes += _q8Head.Bytes;
            }
        }
        return new InferenceWeightsReport(weights, count, parameters, bytes, kept);
    }

    /// <summary>The output head's inference copy (q8_0, q8row or bf16), or null (profiling: bench decode --profile).</summary>
    public IInferenceMatrix? InferenceHead => _q8Head;

    /// <summary>The output head's weight when it is a bare parameter (lm_head, or the embedding it is tied to); null otherwise.</summary>
    Parameter? HeadWeight()
    {
        string? name = TiedHead is { } t ? t.Embedding : Weights.Any(w => w.Name == "lm_head.weight") && Linears.All(l => l.Path != "lm_head") ? "lm_head.weight" : null;
        return name is null ? null : Weights.First(w => w.Name == name).Parameter;
    }

    /// <summary>logits = h · Wᵀ for the output head: the 8-bit or bf16 copy in forward-only passes when there is one, else float.</summary>
    protected Tensor HeadLinear(Tape tape, Tensor h, Parameter w)
        => tape.UsesInferenceWeights && _q8Head is { } q && ReferenceEquals(_q8HeadOf, w) && !w.Trainable ? InferenceLinear.Forward(tape, h, q) : Linear.Forward(tape, h, w.Value);
}
