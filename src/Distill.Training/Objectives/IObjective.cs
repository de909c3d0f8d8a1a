using Distill.Models;
using Distill.Tensors;
using Distill.Tensors.Autograd;
using Distill.Training.Data;

namespace Distill.Training.Objectives;

/// <summary>
/// What a method optimizes. The <see cref="Trainer"/> owns the loop (data order, accumulation, clipping, AdamW,
/// checkpoints, metrics); an objective turns a micro-batch of examples into a loss and its gradient. A method is an
/// objective plus data.
/// Normalization (why gradient accumulation is exact): each micro-batch reports how many loss units it holds
/// (<see cref="MicroBatch.Units"/>: completion tokens for token-level losses, pairs for preference losses) and
/// <see cref="Step"/> returns the MEAN loss over its units while back-propagating weight × that mean, with
/// weight = units / (units of the whole optimizer step). The step's loss is then the mean over every unit of the
/// step, whatever the split into micro-batches: accumulation 2 × batch 1 equals batch 2 (token-mean convention,
/// like TRL's loss over num_items_in_batch).
/// </summary>
public interface IObjective
{
    /// <summary>Short name for logs ("sft", "token-kd", "dpo", ...).</summary>
    string Name { get; }

    /// <summary>Once, before the first step (and again on resume): checks and caches (e.g. reference log-probs).</summary>
    void Initialize(TrainingContext context);

    /// <summary>Collates (and, on-policy, samples) one micro-batch; <paramref name="rng"/> is the trainer's checkpointed generator.</summary>
    MicroBatch Prepare(IReadOnlyList<int> indices, TrainingContext context, Rng rng);

    /// <summary>Forward, loss, backward (scaled by <paramref name="weight"/>) into the parameters' gradients.</summary>
    ObjectiveOutput Step(Tape tape, MicroBatch batch, float weight, TrainingContext context);

    /// <summary>Models besides the trained one whose forward runs in every step (a KD teacher): the trainer packs their weights forward-only.</summary>
    IReadOnlyList<CausalLM> FrozenModels => [];
}

/// <summary>What an objective sees of the run: the trained model, the dataset, the collation settings, the output folder.</summary>
public sealed record TrainingContext(CausalLM Model, IReadOnlyList<TrainingExample> Dataset, int MaxLength, int PadTokenId, string OutputDir)
{
    /// <summary>The stage's name and progress sink, for work an objective does before the first step (the DPO reference).</summary>
    public string Stage { get; init; } = "";
    public IProgress<TrainingProgress>? Progress { get; init; }
}

/// <summary>A collated micro-batch: its sequences, the dataset indices it came from, its loss units and its real tokens.</summary>
public sealed record MicroBatch(SequenceBatch Sequences, int[] Indices, int Units)
{
    /// <summary>Examples after any on-policy replacement of their completions (what was trained on).</summary>
    public IReadOnlyList<TrainingExample>? Examples { get; init; }
    /// <summary>True when the completions were sampled from the student (GKD's on-policy batches).</summary>
    public bool OnPolicy { get; init; }
    public int Tokens => Sequences.TokenCount;
}

/// <summary>Mean loss over the micro-batch's units and the objective's own metrics (also means over units).</summary>
public sealed record ObjectiveOutput(float Loss, IReadOnlyDictionary<string, float> Metrics)
{
    public static readonly IReadOnlyDictionary<string, float> NoMetrics = new Dictionary<string, float>();
}
