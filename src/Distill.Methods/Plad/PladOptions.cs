using Distill.Methods.Preference;
using Distill.Models.Lora;
using Distill.Training;
using Distill.Training.Objectives;

namespace Distill.Methods.Plad;

/// <summary>
/// PLaD (Zhang et al. 2024, "PLaD: Preference-based Large Language Model Distillation with Pseudo-Preference Pairs").
/// The protocol (§4.1, §5.1 "Implementation Details"): the training set is split into two equal shards; teacher and
/// student are fine-tuned (SFT, one epoch) on the labelled shard; both are sampled on the distillation shard (inputs
/// only, §4.2 Eq. 3); pairs teacher ≻ student; the student is trained with the ranking (Eq. 4) or margin (Eq. 5)
/// calibration loss on its (length-normalised, §3.1 Eq. 1 temperature τ) sequence log-likelihood.
/// Ablations as options: <see cref="DistillFraction"/> (§5.5, Fig. 4: 5%–100% of the distillation data),
/// <see cref="RelabelFraction"/> (§5.3, Fig. 2: a share of pairs ordered by a scorer, "real" pairs), and the loss's
/// LengthNormalization (the conclusion's length-normalisation ablation). The paper's LoRA: r 8, α 32, dropout 0.1.
/// </summary>
public sealed record PladOptions
{
    /// <summary>Share of the distillation shard used (§5.5).</summary>
    public double DistillFraction { get; init; } = 1.0;
    /// <summary>Share of pairs relabelled by the scorer (§5.3); needs a scorer when &gt; 0.</summary>
    public double RelabelFraction { get; init; }
    /// <summary>PladRank or PladMargin, with δ, τ and length normalisation.</summary>
    public required PreferenceOptions Loss { get; init; }
    public required SamplingSettings StudentSampling { get; init; }
    public required SamplingSettings TeacherSampling { get; init; }
    /// <summary>The SFT stage of teacher and student (§5.1: one epoch).</summary>
    public required TrainerOptions Sft { get; init; }
    /// <summary>The distillation stage (calibration loss).</summary>
    public required TrainerOptions Distill { get; init; }
    /// <summary>The adapter every training step trains; null: every weight (the calibration losses, Eq. 4–5, compare the
    /// student's own length-normalised log-probabilities and need no reference model, so nothing has to stay frozen).</summary>
    public LoraConfig? Lora { get; init; } = new() { R = 8, LoraAlpha = 32, LoraDropout = 0.1, TargetModules = ["q_proj", "v_proj"] };
    public bool QLora { get; init; }
    /// <summary>The weights the student samples its (rejected) answers with (q8: 8-bit base beside the float adapter).</summary>
    public Distill.Models.InferenceWeights SamplingWeights { get; init; }
    /// <summary>Skip SFT of the student/teacher (a model already fine-tuned for the task, or an API teacher).</summary>
    public bool SftStudent { get; init; } = true;
    public bool SftTeacher { get; init; } = true;
    public bool DropTruncated { get; init; } = true;
    public ulong Seed { get; init; }

    public void Validate()
    {
        if (Loss.Kind is not (PreferenceLossKind.PladRank or PreferenceLossKind.PladMargin))
            throw new ArgumentException($"PLaD trains with its calibration losses (plad-rank, plad-margin), not {Loss.Kind}");
        if (!(DistillFraction is > 0 and <= 1)) throw new ArgumentOutOfRangeException(nameof(DistillFraction), $"the distillation fraction must be in (0, 1], got {DistillFraction}");
        if (!(RelabelFraction is >= 0 and <= 1)) throw new ArgumentOutOfRangeException(nameof(RelabelFraction), $"the relabelled fraction must be in [0, 1], got {RelabelFraction}");
        Loss.Validate();
        StudentSampling.Validate();
        TeacherSampling.Validate();
    }
}

/// <summary>One record of the task: the input, its reference output (null when unknown), and its index in the source.</summary>
public sealed record PladRecord(int Index, string Prompt, string? Reference);

/// <summary>PLaD §5.1's split: two equal shards of the training set, labelled (SFT) and distillation (inputs only), then §5.5's fraction.</summary>
public static class PladData
{
    /// <summary>A seeded shuffle, first half labelled, second half distillation (the extra record of an odd count goes to the labelled half); then the first ⌈f·n⌉ of the distillation half.</summary>
    public static (List<PladRecord> Labelled, List<PladRecord> Distill) Split(IReadOnlyList<PladRecord> records, double distillFraction, ulong seed)
    {
        if (records.Count < 2) throw new ArgumentException($"PLaD needs at least 2 records to split into a labelled and a distillation half, got {records.Count}");
        var order = records.ToArray();
        var rng = new Distill.Tensors.Rng(seed);
        for (int i = order.Length - 1; i > 0; i--)
        {
            int j = rng.NextInt(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
        int half = (order.Length + 1) / 2;
        var labelled = order[..half].ToList();
        var distill = order[half..].ToList();
        int keep = Math.Max(1, (int)Math.Ceiling(distillFraction * distill.Count - 1e-9));
        return (labelled, distill.Take(keep).ToList());
    }
}
