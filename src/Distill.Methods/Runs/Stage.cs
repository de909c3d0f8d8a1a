using System.Text.Json.Nodes;
using Distill.Chat.Accounting;

namespace Distill.Methods.Runs;

/// <summary>What a stage works with: the recipe, the run directory, and where it reports.</summary>
public sealed record RunContext(Recipe Recipe, RunDirectory Dir, TextWriter Log, IReadOnlyList<string> SecretValues)
{
    /// <summary>Where stages report their progress for a console to draw (null: nobody listens).</summary>
    public IProgress<RunProgressEvent>? Progress { get; init; }

    /// <summary>Progress inside the current stage (training steps, teacher calls...), when someone listens.</summary>
    public void Work(string what, long done, long total, string unit, double? tokensPerSecond = null, float? loss = null)
        => Progress?.Report(new WorkProgress(0, what, done, total, unit, tokensPerSecond, loss));

    /// <summary>A line for the console and run.log, with API keys scrubbed.</summary>
    public void Say(string message)
    {
        var line = Secrets.Redact(message, SecretValues);
        Log.WriteLine(line);
        File.AppendAllText(Dir.Log, $"{DateTime.UtcNow:O} {line}\n");
    }
}

/// <summary>What a completed stage produced and what it cost.</summary>
public sealed record StageResult(IReadOnlyList<string> Outputs, IReadOnlyList<UsageLedger.Row> Usage, JsonObject? Details = null)
{
    public static StageResult Files(params string[] outputs) => new(outputs, []);
}

/// <summary>
/// One step of a run. It must be idempotent: run again, it produces the same outputs (teacher
/// calls come back from the response cache). It writes its outputs atomically; the runner writes
/// the completion marker after it returns, so a stage killed mid-way is simply run again.
/// </summary>
public interface IStage
{
    string Name { get; }
    Task<StageResult> RunAsync(RunContext context, CancellationToken ct);
}

/// <summary>A stage that could not finish: the message says what was kept and how to continue.</summary>
public sealed class StageFailedException(string stage, string message, Exception? inner = null) : Exception($"{stage}: {message}", inner)
{
    public string Stage { get; } = stage;
}
