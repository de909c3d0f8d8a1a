namespace Distill.Evaluation.Sandbox;

/// <summary>Verdicts. Only <see cref="Passed"/> counts toward pass@k.</summary>
public enum SandboxStatus { Passed, Failed, Timeout, OutOfMemory, Crashed, SandboxError }

/// <summary>The outcome of one sandboxed run, decided by trusted code on the host.</summary>
/// <param name="Error">For failed: the assertion or exception text (PERsD's format); otherwise why.</param>
/// <param name="Isolation">Which isolation was used, e.g. "bwrap+setpriv uid 61000".</param>
public sealed record SandboxResult(
    SandboxStatus Status,
    int? ExitCode,
    string Stdout,
    string Stderr,
    string? Error,
    double WallSeconds,
    string Isolation)
{
    /// <summary>snake_case names used in JSON and tables: passed, failed, timeout, out_of_memory, crashed, sandbox_error.</summary>
    public static string Name(SandboxStatus s) => s switch
    {
        SandboxStatus.Passed => "passed",
        SandboxStatus.Failed => "failed",
        SandboxStatus.Timeout => "timeout",
        SandboxStatus.OutOfMemory => "out_of_memory",
        SandboxStatus.Crashed => "crashed",
        _ => "sandbox_error",
    };

    public string StatusName => Name(Status);
}
