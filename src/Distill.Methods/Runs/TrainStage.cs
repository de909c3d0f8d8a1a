namespace Distill.Methods.Runs;

/// <summary>
/// The training step of a run, reading the run's data file and writing checkpoints/ and
/// metrics.jsonl. The Trainer (Distill.Training) implements it; until it is wired in,
/// <see cref="UnwiredTrainStage"/> stands in and fails clearly.
/// </summary>
public interface ITrainStage
{
    /// <param name="dataFile">prompts.jsonl (sft, token-kd) or teacher-gen.jsonl (seqkd), TRL prompt/completion columns.</param>
    Task<StageResult> TrainAsync(RunContext context, string dataFile, CancellationToken ct);
}

/// <summary>Adapts an <see cref="ITrainStage"/> to the stage runner as stage "train".</summary>
public sealed class TrainStage(ITrainStage trainer, string dataFile) : IStage
{
    public string Name => "train";
    public Task<StageResult> RunAsync(RunContext context, CancellationToken ct) => trainer.TrainAsync(context, dataFile, ct);
}

/// <summary>Fails: `distill run` has no trainer yet. It never pretends to train.</summary>
public sealed class UnwiredTrainStage : ITrainStage
{
    public Task<StageResult> TrainAsync(RunContext context, string dataFile, CancellationToken ct)
        => throw new StageFailedException("train", $"not yet wired: the Trainer (Distill.Training) is not connected to `distill run` yet. " +
            $"The stages before it are complete and kept ({Path.GetRelativePath(context.Dir.Root, dataFile)}); `--resume` will skip them once training is wired.");
}
