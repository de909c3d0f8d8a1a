namespace Distill.Methods.Runs;

/// <summary>
/// The training step of a run, reading the run's data file and writing checkpoints/ and
/// metrics.jsonl. <see cref="RecipeTrainStage"/> implements it on the Trainer (Distill.Training);
/// tests may substitute another.
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
