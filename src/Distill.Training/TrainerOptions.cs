using Distill.Models.Lora;
using Distill.Tensors.Optim;

namespace Distill.Training;

/// <summary>
/// Hyperparameters of one training stage (names as transformers' TrainingArguments where one exists). An optimizer
/// step consumes <see cref="GradientAccumulation"/> micro-batches of <see cref="BatchSize"/> examples; the run lasts
/// <see cref="Epochs"/> passes over the data, or <see cref="MaxSteps"/> optimizer steps when that is &gt; 0.
/// </summary>
public sealed record TrainerOptions
{
    /// <summary>Shown in progress events and logs (a recipe's stage name).</summary>
    public string Stage { get; init; } = "train";
    public int Epochs { get; init; } = 1;
    public int MaxSteps { get; init; }
    public int BatchSize { get; init; } = 4;
    public int GradientAccumulation { get; init; } = 1;
    public int MaxLength { get; init; } = 512;
    public int PadTokenId { get; init; }
    public float LearningRate { get; init; } = 5e-5f;
    public ScheduleKind Schedule { get; init; } = ScheduleKind.Linear;
    /// <summary>Warm-up steps; when 0, <see cref="WarmupRatio"/> of the total steps.</summary>
    public int WarmupSteps { get; init; }
    public double WarmupRatio { get; init; }
    public float WeightDecay { get; init; }
    public float AdamBeta1 { get; init; } = 0.9f;
    public float AdamBeta2 { get; init; } = 0.999f;
    public float AdamEpsilon { get; init; } = 1e-8f;
    /// <summary>Global gradient-norm clip (torch clip_grad_norm_); 0 turns clipping off (the norm is still logged).</summary>
    public float MaxGradNorm { get; init; } = 1f;
    public ulong Seed { get; init; } = 42;
    public bool Shuffle { get; init; } = true;
    public bool GroupByLength { get; init; }
    /// <summary>A checkpoint every this many optimizer steps (and at the end); 0 = only at the end.</summary>
    public int SaveSteps { get; init; } = 50;
    /// <summary>How many step checkpoints to keep (oldest deleted first).</summary>
    public int SaveTotalLimit { get; init; } = 2;
    /// <summary>Continue from the newest complete checkpoint in the output folder (start fresh if there is none).</summary>
    public bool Resume { get; init; }
    /// <summary>The adapter's config when training LoRA (saved as adapter_config.json); null = full weights are trained and saved.</summary>
    public LoraConfig? Lora { get; init; }
    /// <summary>
    /// Bytes the frozen dense weights may take packed for the GEMM for the run (CausalLM.PackFrozenWeights: the same
    /// results, without re-packing each weight at every product; 2× the weights for the trained model, 1× for a teacher):
    /// −1 (default) = a quarter of the machine's memory, 0 = none.
    /// </summary>
    public long PackedWeightsBudget { get; init; } = -1;

    /// <summary>The budget in bytes, −1 resolved against this machine's memory.</summary>
    public long ResolvedPackedWeightsBudget => PackedWeightsBudget >= 0 ? PackedWeightsBudget : GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 4;

    public void Validate()
    {
        if (Epochs < 1 && MaxSteps < 1) throw new ArgumentException($"TrainerOptions: epochs {Epochs} and max steps {MaxSteps}: one must be ≥ 1");
        if (BatchSize < 1) throw new ArgumentException($"TrainerOptions: batch size {BatchSize} < 1");
        if (GradientAccumulation < 1) throw new ArgumentException($"TrainerOptions: gradient accumulation {GradientAccumulation} < 1");
        if (MaxLength < 2) throw new ArgumentException($"TrainerOptions: max length {MaxLength} < 2");
        if (!(LearningRate >= 0) || !float.IsFinite(LearningRate)) throw new ArgumentException($"TrainerOptions: learning rate {LearningRate} must be finite and ≥ 0");
        if (WarmupSteps < 0 || !(WarmupRatio >= 0 && WarmupRatio < 1)) throw new ArgumentException($"TrainerOptions: warm-up steps {WarmupSteps} ≥ 0 and ratio {WarmupRatio} in [0, 1) required");
        if (!(WeightDecay >= 0)) throw new ArgumentException($"TrainerOptions: weight decay {WeightDecay} < 0");
        if (!(MaxGradNorm >= 0)) throw new ArgumentException($"TrainerOptions: max grad norm {MaxGradNorm} < 0");
        if (SaveSteps < 0 || SaveTotalLimit < 1) throw new ArgumentException($"TrainerOptions: save steps {SaveSteps} ≥ 0 and save total limit {SaveTotalLimit} ≥ 1 required");
        if (PackedWeightsBudget < -1) throw new ArgumentException($"TrainerOptions: packed weights budget {PackedWeightsBudget} must be ≥ 0 bytes (or −1 for automatic)");
        Lora?.Validate();
    }
}
