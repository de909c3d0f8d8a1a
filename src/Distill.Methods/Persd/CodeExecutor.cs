using Distill.Evaluation.Sandbox;

namespace Distill.Methods.Persd;

/// <summary>
/// Runs sandbox jobs for the PERsD loop, a few at a time, through the execution cache: a job whose
/// code, tests and limits were run before is answered from <see cref="PersdStore"/> without running
/// anything. Sandbox failures (the sandbox, not the program) are never cached, so a resumed run
/// retries them. Counts what it ran and what it found cached (the loop's cost in executions).
/// </summary>
public sealed class CodeExecutor(SandboxOptions options, PersdStore? store, int slots = 2)
{
    readonly SemaphoreSlim _gate = new(Math.Max(1, slots));
    readonly Lock _sum = new();
    long _runs, _hits;
    double _seconds;

    public SandboxOptions Options { get; } = options;
    public int Slots { get; } = Math.Max(1, slots);
    /// <summary>Jobs that ran in the sandbox.</summary>
    public long Runs => Interlocked.Read(ref _runs);
    /// <summary>Jobs answered by the cache.</summary>
    public long CacheHits => Interlocked.Read(ref _hits);
    /// <summary>Wall seconds spent in the sandbox (summed over slots).</summary>
    public double SandboxSeconds { get { lock (_sum) return _seconds; } }

    sealed record Cached(SandboxStatus Status, string? Error, double WallSeconds);

    public static string KeyOf(TestJob job, SandboxOptions o)
        => PersdStore.Key("exec-v1", job.Solution, job.Prelude, job.Tests, job.EntryPoint ?? "",
            o.TimeoutSeconds.ToString("R", System.Globalization.CultureInfo.InvariantCulture), o.MemoryMb.ToString(System.Globalization.CultureInfo.InvariantCulture));

    public async Task<SandboxResult> RunAsync(TestJob job, CancellationToken ct = default)
    {
        var key = KeyOf(job, Options);
        if (store?.Get<Cached>("executions", key) is { } hit)
        {
            Interlocked.Increment(ref _hits);
            return new SandboxResult(hit.Status, null, "", "", hit.Error, hit.WallSeconds, "cached");
        }
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        SandboxResult r;
        try { r = await TestHarness.RunAsync(job, Options).ConfigureAwait(false); }
        finally { _gate.Release(); }
        Interlocked.Increment(ref _runs);
        lock (_sum) _seconds += r.WallSeconds;
        if (r.Status != SandboxStatus.SandboxError) store?.Put("executions", key, new Cached(r.Status, r.Error, r.WallSeconds));
        return r;
    }
}
