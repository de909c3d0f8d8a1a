namespace Distill.Evaluation.Sandbox;

/// <summary>How the sandbox isolates a run. Auto picks bubblewrap when present, else unshare.</summary>
public enum IsolationMode { Auto, Bubblewrap, Unshare }

/// <summary>
/// Limits of one sandboxed run. Defaults follow EvalPlus where it has one (4 GiB memory is its
/// figure; we default lower because 2 slots share a 24 GiB machine with other work) and human-eval
/// otherwise. Every limit is enforced by the kernel (rlimits, tmpfs size) or by the host's
/// wall-clock deadline, never by code running inside the sandbox.
/// </summary>
public sealed record SandboxOptions
{
    /// <summary>Wall-clock limit for the whole run; the namespace is killed when it passes.</summary>
    public double TimeoutSeconds { get; init; } = 10;
    /// <summary>RLIMIT_AS of each sandboxed interpreter, in MiB.</summary>
    public int MemoryMb { get; init; } = 1024;
    /// <summary>RLIMIT_FSIZE: the largest file the program may write, in MiB.</summary>
    public int FileSizeMb { get; init; } = 16;
    /// <summary>RLIMIT_NPROC for the slot's dedicated uid.</summary>
    public int MaxProcesses { get; init; } = 32;
    /// <summary>RLIMIT_NOFILE.</summary>
    public int MaxOpenFiles { get; init; } = 64;
    /// <summary>Bytes of stdout and of stderr kept; the rest is read and dropped.</summary>
    public int OutputCapBytes { get; init; } = 64 * 1024;
    /// <summary>Size of the private writable tmpfs (the work dir, /tmp), in MiB.</summary>
    public int WorkDirMb { get; init; } = 32;
    /// <summary>Longest JSON line accepted on the candidate/test channel.</summary>
    public int MaxMessageBytes { get; init; } = 64 * 1024 * 1024; // HumanEval+/130 returns lists of over 8 MB
    /// <summary>Interpreter run inside the sandbox (Debian's, so python3-numpy is importable).</summary>
    public string Python { get; init; } = "/usr/bin/python3";
    public IsolationMode Isolation { get; init; } = IsolationMode.Auto;

    /// <summary>RLIMIT_CPU in seconds: the wall-clock limit rounded up, plus one.</summary>
    public int CpuSeconds => (int)Math.Ceiling(TimeoutSeconds) + 1;

    public SandboxOptions Validate()
    {
        if (!(TimeoutSeconds > 0 && TimeoutSeconds <= 3600)) throw new ArgumentException($"timeout must be in (0, 3600] s, got {TimeoutSeconds}");
        if (MemoryMb < 64) throw new ArgumentException($"memory must be at least 64 MiB, got {MemoryMb}");
        if (FileSizeMb < 1 || MaxProcesses < 1 || MaxOpenFiles < 16 || WorkDirMb < 1)
            throw new ArgumentException("file size, process, open-file and work-dir limits must be positive (open files at least 16)");
        if (OutputCapBytes < 0 || MaxMessageBytes < 1024) throw new ArgumentException("output and message caps must be non-negative / at least 1 KiB");
        if (!File.Exists(Python)) throw new ArgumentException($"python interpreter {Python} not found");
        return this;
    }
}
