using System.Diagnostics;

namespace Distill.Evaluation.Sandbox;

/// <summary>
/// Runs one Python program in the sandbox and classifies how it ended (`distill sandbox run
/// PROGRAM.py`). "passed" needs exit 0 AND the completion token that only the program's last line
/// produces (Harness/zygote.py, _run_program): early exits, exit hooks, excepthook tricks, forged
/// output and stolen nonces do not pass. A program that knows the protocol can still forge it, so
/// this mode is for probing the sandbox; scoring uses <see cref="TestHarness"/> (docs/evaluation.md).
/// </summary>
public static class ProgramRunner
{
    public static async Task<SandboxResult> RunAsync(string source, SandboxOptions options)
    {
        options.Validate();
        var clock = Stopwatch.StartNew();
        SandboxedProcess p;
        try { p = SandboxedProcess.Start(options, new Dictionary<string, string> { ["program.py"] = source }, "program", channel: false); }
        catch (Exception e) when (e is IOException or InvalidOperationException or System.ComponentModel.Win32Exception or PlatformNotSupportedException)
        {
            return new SandboxResult(SandboxStatus.SandboxError, null, "", "", e.Message, clock.Elapsed.TotalSeconds, "none");
        }
        using (p)
        {
            try { p.Stdin.Close(); } catch (IOException) { } catch (ObjectDisposedException) { }
            bool exited = await p.WaitAsync(TimeSpan.FromSeconds(options.TimeoutSeconds)).ConfigureAwait(false);
            if (!exited) p.Kill();
            await p.DrainAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
            double wall = clock.Elapsed.TotalSeconds;
            int? code = p.ExitCode;
            string stdout = p.Stdout!.Text, stderr = p.Stderr.Text;
            var (status, error) = exited ? Classify(code, stderr) : (SandboxStatus.Timeout, $"wall-clock limit of {options.TimeoutSeconds} s reached");
            if (status == SandboxStatus.Passed && !p.Completed)
                (status, error) = (SandboxStatus.Failed, "exit code 0, but the program did not run to its last line (no completion token)");
            return new SandboxResult(status, exited ? code : null, stdout, stderr, error, wall, p.Isolation);
        }
    }

    /// <summary>
    /// Status of an interpreter that ended by itself. Signals: .NET reports 128+signal.
    /// SIGXCPU (24) = the CPU rlimit; SIGKILL (9) after it = the hard CPU limit. A child whose
    /// set-up failed exits 125 with "sandbox: ..." on stderr (Harness/zygote.py).
    /// </summary>
    internal static (SandboxStatus, string?) Classify(int? code, string stderr)
    {
        if (code == 0) return (SandboxStatus.Passed, null);
        if (code == 128 + 24) return (SandboxStatus.Timeout, "CPU-time limit reached (SIGXCPU)");
        if (stderr.Contains("MemoryError", StringComparison.Ordinal) || stderr.Contains("Cannot allocate memory", StringComparison.Ordinal))
            return (SandboxStatus.OutOfMemory, LastError(stderr) ?? "MemoryError");
        if (code == 125 && stderr.StartsWith("sandbox:", StringComparison.Ordinal))
            return (SandboxStatus.SandboxError, stderr.Split('\n')[0]);
        if (code > 128) return (SandboxStatus.Crashed, $"killed by signal {code - 128}");
        return (SandboxStatus.Failed, LastError(stderr) ?? $"exit code {code}");
    }

    /// <summary>"ZeroDivisionError: division by zero" (last traceback line) → "ZeroDivisionError : division by zero" (PERsD).</summary>
    internal static string? LastError(string stderr)
    {
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        for (int i = lines.Length - 1; i >= 0; i--)
        {
            var l = lines[i];
            int colon = l.IndexOf(':');
            var head = colon > 0 ? l[..colon] : l;
            if (head.Length > 0 && (head.EndsWith("Error", StringComparison.Ordinal) || head.EndsWith("Exception", StringComparison.Ordinal) || head == "KeyboardInterrupt" || head == "SystemExit") && !head.Contains(' '))
                return colon > 0 ? $"{head} : {l[(colon + 1)..].Trim()}" : head;
        }
        return null;
    }
}
