using Distill.Training;

namespace Distill.Methods.Runs;

/// <summary>
/// What a run or a demo reports while it works, for a console to render (the Cli draws bars with Spectre.Console;
/// Distill.Methods never writes to the console itself). Reported synchronously on the working thread, in order.
/// <see cref="Level"/> 0 is the outermost list of stages (the demo's, or `distill run`'s); a recipe run inside a
/// demo stage reports its own stages one level deeper.
/// </summary>
public abstract record RunProgressEvent(int Level);

/// <summary>Stage <paramref name="Index"/> (0-based) of <paramref name="Count"/> starts.</summary>
public sealed record StageStarted(int Level, string Name, int Index, int Count) : RunProgressEvent(Level);

/// <summary>A stage ended: run to completion, or <paramref name="Skipped"/> because a resumed run found it complete.</summary>
public sealed record StageCompleted(int Level, string Name, int Index, int Count, TimeSpan Elapsed, bool Skipped) : RunProgressEvent(Level);

/// <summary>
/// Progress inside the current stage: <paramref name="Done"/> of <paramref name="Total"/> <paramref name="Unit"/>
/// (training steps, teacher calls, evaluated problems); tokens per second and the loss when known.
/// </summary>
public sealed record WorkProgress(int Level, string What, long Done, long Total, string Unit, double? TokensPerSecond = null, float? Loss = null, TimeSpan? Eta = null)
    : RunProgressEvent(Level);

/// <summary>Helpers to report through an optional sink.</summary>
public static class RunProgress
{
    /// <summary>A sink that calls back on the reporting thread (Progress&lt;T&gt; would post to the thread pool, out of order).</summary>
    public static IProgress<RunProgressEvent> Of(Action<RunProgressEvent> report) => new Sync<RunProgressEvent>(report);

    /// <summary>Any synchronous sink.</summary>
    public static IProgress<T> Of<T>(Action<T> report) => new Sync<T>(report);

    /// <summary>The events of a nested list of stages (a recipe run inside a demo stage), one level deeper.</summary>
    public static IProgress<RunProgressEvent>? Nested(IProgress<RunProgressEvent>? outer) => outer is null ? null : Of(e => outer.Report(e switch
    {
        StageStarted s => s with { Level = s.Level + 1 },
        StageCompleted c => c with { Level = c.Level + 1 },
        WorkProgress w => w with { Level = w.Level + 1 },
        _ => e,
    }));

    /// <summary>The Trainer's step events as <see cref="WorkProgress"/> (steps, loss, tokens/s, ETA), beside <paramref name="also"/>.</summary>
    public static IProgress<TrainingProgress>? Training(IProgress<RunProgressEvent>? sink, IProgress<TrainingProgress>? also = null)
    {
        if (sink is null) return also;
        return new Sync<TrainingProgress>(p =>
        {
            also?.Report(p);
            sink.Report(new WorkProgress(0, p.Stage, p.Step, p.TotalSteps, p.Unit, p.TokensPerSecond, float.IsNaN(p.Loss) ? null : p.Loss, p.Eta));
        });
    }

    sealed class Sync<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
