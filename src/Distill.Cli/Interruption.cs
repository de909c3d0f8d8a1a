using System.Runtime.InteropServices;

namespace Distill.Cli;

/// <summary>
/// Ctrl-C (SIGINT) and SIGTERM as a cancellation token: the first signal cancels <see cref="Token"/> and the verb stops at
/// its next safe point (a training step boundary, after a teacher call, between evaluated problems), keeps what is done
/// and says how to continue; a second signal terminates at once. System.CommandLine's own handler is off
/// (<see cref="VerbHost"/>): it gives the verb a fixed grace period and then returns while the work still runs.
/// </summary>
public sealed class Interruption : IDisposable
{
    readonly CancellationTokenSource _cts = new();
    readonly PosixSignalRegistration _int, _term;

    public Interruption()
    {
        _int = PosixSignalRegistration.Create(PosixSignal.SIGINT, On);
        _term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, On);
    }

    public CancellationToken Token => _cts.Token;

    /// <summary>The shell's convention for a process stopped by a signal: 128 + its number (130 Ctrl-C, 143 SIGTERM).</summary>
    public static int ExitCode { get; private set; } = 130;

    void On(PosixSignalContext context)
    {
        if (_cts.IsCancellationRequested) return; // the second signal: the default action (terminate)
        context.Cancel = true;
        ExitCode = context.Signal == PosixSignal.SIGTERM ? 143 : 130;
        Console.Error.WriteLine($"distill: {(context.Signal == PosixSignal.SIGTERM ? "SIGTERM" : "interrupted")}; stopping at the next safe point (again to stop at once)");
        _cts.Cancel();
    }

    public void Dispose()
    {
        _int.Dispose();
        _term.Dispose();
        _cts.Dispose();
    }
}
