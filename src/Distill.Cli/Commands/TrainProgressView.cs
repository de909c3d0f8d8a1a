using Distill.Training;
using Spectre.Console;

namespace Distill.Cli.Commands;

/// <summary>
/// Renders a <see cref="Trainer"/>'s progress events with Spectre.Console: stage, bar, step, loss, tokens/s, ETA.
/// Quiet (no bar, no per-step lines) when stdout is not a terminal, so logs and pipes stay clean; metrics.jsonl
/// holds every step anyway.
/// </summary>
static class TrainProgressView
{
    public static TrainingResult Run(Trainer trainer, CancellationToken cancellationToken)
    {
        if (Console.IsOutputRedirected || !AnsiConsole.Profile.Capabilities.Interactive)
            return trainer.Run(null, cancellationToken);
        TrainingResult? result = null;
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                // the steps' bar, and before it one for work counted in another unit (the DPO reference's pairs)
                ProgressTask? before = null;
                var steps = ctx.AddTask(Markup.Escape(trainer.Options.Stage), autoStart: false, maxValue: trainer.TotalSteps);
                var progress = new SyncProgress(p =>
                {
                    var task = p.IsStep ? steps : before ??= ctx.AddTaskBefore(Markup.Escape(p.Stage), steps, maxValue: p.TotalSteps);
                    if (!task.IsStarted) task.StartTask();
                    task.Value = p.Step;
                    string loss = float.IsNaN(p.Loss) ? "–" : p.Loss.ToString("F4");
                    string eta = p.Eta is { } e ? $" ETA {e:hh\\:mm\\:ss}" : "";
                    string what = p.IsStep ? $"loss {loss}" : p.Unit;
                    task.Description = Markup.Escape($"{p.Stage} {p.Step}/{p.TotalSteps} {what} {p.TokensPerSecond:F0} tok/s{eta}");
                });
                result = trainer.Run(progress, cancellationToken);
            });
        return result!;
    }

    /// <summary>Calls back on the reporting thread (Progress&lt;T&gt; would post to the thread pool and lag behind).</summary>
    sealed class SyncProgress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
