using Distill.Methods.Preference;
using Distill.Models.Lora;
using Distill.Training;
using Distill.Training.Objectives;

namespace Distill.Methods.DpoKd;

/// <summary>
/// DPO-KD (Chung et al., "Empowering Small Models: DPO-Assisted Knowledge Distillation", §2): chosen = the teacher's
/// answer, rejected = the student's, trained with DPO against the frozen student (adapter off).
/// Offline (§2.1, Fig. 1): the student is sampled once, then <see cref="TrainerOptions.Epochs"/> epochs on those pairs.
/// Online (§2.2, Fig. 2): <see cref="Iterations"/> rounds; each samples the rejected side again with the current
/// adapter ("the responses at the current iteration function as the negative samples in the next iteration"), rebuilds
/// the pairs, and trains <see cref="TrainerOptions.Epochs"/> epochs (the paper: one epoch per iteration, "generating a
/// new dataset after each epoch"), continuing the adapter. The paper's settings (§4.1.3): QLoRA NF4 with double
/// quantization, r 64, α 16, dropout 0.1, lr 5e-4, AdamW, batch 1, 3 epochs.
/// </summary>
public sealed record DpoKdOptions
{
    public bool Online { get; init; }
    /// <summary>Online rounds (offline: always 1).</summary>
    public int Iterations { get; init; } = 3;
    public required SamplingSettings Sampling { get; init; }
    public required PreferenceOptions Loss { get; init; }
    /// <summary>The trainer of one round (Epochs = epochs per round; Resume is decided by the loop; Lora is filled in).</summary>
    public required TrainerOptions Trainer { get; init; }
    public LoraConfig? Lora { get; init; }
    public bool QLora { get; init; }
    /// <summary>The weights the student samples with (q8: 8-bit base beside the float adapter).</summary>
    public Distill.Models.InferenceWeights SamplingWeights { get; init; }
    /// <summary>Drop pairs with a side cut at the token budget (default); false keeps them (smoke runs on tiny random models).</summary>
    public bool DropTruncated { get; init; } = true;
    /// <summary>Names the student in the pairs' provenance.</summary>
    public string StudentName { get; init; } = "student";

    public int Rounds => Online ? Iterations : 1;

    public void Validate()
    {
        if (Online && Iterations < 1) throw new ArgumentOutOfRangeException(nameof(Iterations), $"online DPO-KD needs at least one iteration, got {Iterations}");
        if (!Loss.NeedsReference) throw new ArgumentException($"DPO-KD trains with DPO, IPO or hinge (a frozen reference), not {Loss.Kind}");
        Sampling.Validate();
        Loss.Validate();
    }
}
