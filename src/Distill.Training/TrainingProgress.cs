namespace Distill.Training;

/// <summary>
/// Reported after every optimizer step (and once when the stage starts, with Step 0): what a console renders as
/// "stage ━━━━━ 120/400 loss 1.234 1,850 tok/s ETA 03:12". The library never writes to the console itself.
/// Work before the first step reports in its own unit: the DPO reference's log-probs in "pairs" scored (Step of TotalSteps).
/// </summary>
public sealed record TrainingProgress(string Stage, int Step, int TotalSteps, double Epoch, float Loss, double TokensPerSecond, TimeSpan? Eta)
{
    public const string Steps = "steps";
    public string Unit { get; init; } = Steps;
    /// <summary>An optimizer step's report (not work counted in another unit before the steps).</summary>
    public bool IsStep => Unit == Steps;
}

/// <summary>What <see cref="Trainer.Run"/> returns.</summary>
/// <param name="Completed">False when cancelled before the last step (the newest checkpoint holds the progress).</param>
/// <param name="FinalDir">The trained adapter (PEFT layout) or model (Hugging Face layout), written when completed.</param>
public sealed record TrainingResult(bool Completed, int Steps, int TotalSteps, float LastLoss, string MetricsPath, string? FinalDir, string? LastCheckpoint, int ResumedFromStep);

/// <summary>A NaN or infinity in the loss or the gradients: the run stops at <see cref="Step"/>, the last good checkpoint kept.</summary>
public sealed class TrainingDivergedException(int step, string what, string? lastCheckpoint)
    : InvalidOperationException($"step {step}: {what} is not finite; training stopped. " +
                (lastCheckpoint is null ? "No checkpoint was written yet." : $"The last good checkpoint is {lastCheckpoint} (resume from it, e.g. with a lower learning rate)."))
{
    public int Step { get; } = step;
    public string? LastCheckpoint { get; } = lastCheckpoint;
}

/// <summary>What one <see cref="Trainer.Step"/> did: the step number (1-based, as in metrics.jsonl), its loss, LR and
/// pre-clip gradient norm, its real tokens, its time (data to metrics line, without a checkpoint) and the objective's metrics.</summary>
public sealed record StepReport(int Step, float Loss, float Lr, float GradNorm, int Tokens, double Seconds, IReadOnlyList<KeyValuePair<string, float>> Metrics);
