using System.Diagnostics;

namespace Distill.Evaluation.Sandbox;

/// <summary>
/// Builds the command line that starts the sandbox zygote (Harness/zygote.py), the pre-imported
/// interpreter that forks one isolated child per execution. Two outer sandboxes, equal in what they
/// contain (docs/evaluation.md, "The sandbox"):
/// bubblewrap —
///   [setpriv --reuid U --regid U --clear-groups --inh-caps=-all]   (as root: bwrap runs as a dedicated uid)
///     bwrap --unshare-all --die-with-parent --new-session --uid 0 --gid 0 --cap-add SYS_ADMIN,SETPCAP,SETUID,SETGID,SETFCAP
///           --ro-bind /usr /usr, /lib /lib64 /bin /sbin as symlinks, ld.so.cache + alternatives (numpy's BLAS)
///           --proc /proc --dev /dev --dir /tmp --dir /box/in --ro-bind ZYGOTE_DIR /box/zygote --remount-ro / --setenv ...
///       python3 -I -B /box/zygote/zygote.py CTL_FD bwrap
///   The capabilities are those of bwrap's user namespace (host uid U), which the zygote needs to give each
///   child its namespaces and mounts; every child drops all of them, and enters a nested user namespace as uid 1000.
/// unshare (root, no bubblewrap) —
///   unshare --pid --fork --kill-child --mount --net --ipc --uts --propagation private
///     python3 -I -B ZYGOTE_DIR/zygote.py CTL_FD unshare
///   The zygote builds the same private root itself (tmpfs, read-only /usr, minimal read-only /dev, pivot_root:
///   no host path left) and gives each child a dedicated host uid (61000–61999) with no capabilities.
/// The process is started with an EMPTY environment (a sandbox process's environ is readable through /proc,
/// REFERENCE.md), and the zygote, so every child, gets only the allow-list below.
/// </summary>
public static class SandboxLauncher
{
    /// <summary>The only environment the sandboxed program sees.</summary>
    public static readonly IReadOnlyList<KeyValuePair<string, string>> Environment =
    [
        new("PATH", "/usr/bin:/bin"),
        new("LANG", "C.UTF-8"),
        new("HOME", "/tmp"),
        new("PYTHONDONTWRITEBYTECODE", "1"),
        new("PYTHONHASHSEED", "0"),
        new("OPENBLAS_NUM_THREADS", "1"), // one BLAS thread: address-space limit and fair share of 2 cores
        new("OMP_NUM_THREADS", "1"),
    ];

    static readonly string? Bwrap = File.Exists("/usr/bin/bwrap") ? "/usr/bin/bwrap" : null;

    public static bool BubblewrapAvailable => Bwrap is not null;

    /// <summary>What to tell a user whose machine can run neither sandbox.</summary>
    public const string InstallHint = "install bubblewrap (Debian/Ubuntu: sudo apt-get install bubblewrap; Fedora: sudo dnf install bubblewrap), or run as root to use the unshare sandbox";

    public static string Name(IsolationMode mode) => mode == IsolationMode.Unshare ? "unshare" : "bwrap";

    /// <summary>Auto: bubblewrap when installed, else unshare when root; refuses (with how to install bubblewrap) otherwise.</summary>
    public static IsolationMode Resolve(IsolationMode requested)
    {
        if (!OperatingSystem.IsLinux()) throw new PlatformNotSupportedException("the sandbox needs Linux namespaces");
        return Resolve(requested, Bwrap is not null, UidSlot.IsRoot);
    }

    internal static IsolationMode Resolve(IsolationMode requested, bool bubblewrap, bool root)
    {
        switch (requested)
        {
            case IsolationMode.Bubblewrap when !bubblewrap:
                throw new InvalidOperationException("--isolation bwrap: /usr/bin/bwrap is missing; " + InstallHint);
            case IsolationMode.Unshare when !root:
                throw new InvalidOperationException("--isolation unshare needs root (it gives every execution its own uid); " + InstallHint);
            case IsolationMode.Auto when bubblewrap:
                return IsolationMode.Bubblewrap;
            case IsolationMode.Auto when root:
                return IsolationMode.Unshare;
            case IsolationMode.Auto:
                throw new InvalidOperationException("no sandbox available to run untrusted code: " + InstallHint);
            default:
                return requested;
        }
    }

    /// <summary>The isolation a run with <paramref name="o"/> uses (starts the sandbox, so set-up problems surface here, once).</summary>
    public static string Describe(SandboxOptions o) => ZygotePool.Get(o).Isolation;

    internal static (ProcessStartInfo Start, string Isolation) BuildZygote(IsolationMode mode, string python, UidSlot? slot, string dir, int ctlFd)
    {
        var psi = new ProcessStartInfo { UseShellExecute = false, RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.Environment.Clear(); // not even the host's PATH reaches the sandbox
        var args = new List<string>();
        string isolation;
        if (mode == IsolationMode.Bubblewrap)
        {
            if (slot is not null)
            {
                psi.FileName = "/usr/bin/setpriv";
                args.AddRange([$"--reuid={slot.Uid}", $"--regid={slot.Uid}", "--clear-groups", "--inh-caps=-all", Bwrap!]);
                isolation = $"bwrap (user namespace as uid {slot.Uid}; per execution: own pid, mount, ipc and user namespaces as uid 1000; no network)";
            }
            else
            {
                psi.FileName = Bwrap!;
                isolation = $"bwrap (caller's uid {System.Environment.UserName}; per execution: own pid, mount, ipc and user namespaces as uid 1000; no network)";
            }
            args.AddRange(["--unshare-all", "--die-with-parent", "--new-session", "--uid", "0", "--gid", "0",
                "--cap-add", "CAP_SYS_ADMIN", "--cap-add", "CAP_SETPCAP", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--cap-add", "CAP_SETFCAP",
                "--ro-bind", "/usr", "/usr",
                "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64",
                "--symlink", "usr/bin", "/bin", "--symlink", "usr/sbin", "/sbin"]);
            foreach (var etc in new[] { "/etc/ld.so.cache", "/etc/alternatives" })
                if (Path.Exists(etc)) args.AddRange(["--ro-bind", etc, etc]);
            // The root bwrap builds is a tmpfs: remount it read-only once everything is in place. The zygote
            // remounts /dev read-only too; each child mounts its own /tmp, /dev/shm and /box/in.
            args.AddRange(["--proc", "/proc", "--dev", "/dev", "--dir", "/tmp", "--dir", "/box/in",
                "--ro-bind", dir, "/box/zygote", "--remount-ro", "/", "--chdir", "/"]);
            foreach (var (k, v) in Environment) args.AddRange(["--setenv", k, v]);
            args.AddRange([python, "-I", "-B", "/box/zygote/zygote.py", $"{ctlFd}", "bwrap"]);
        }
        else
        {
            psi.FileName = "/usr/bin/unshare";
            foreach (var (k, v) in Environment) psi.Environment[k] = v;
            args.AddRange(["--pid", "--fork", "--kill-child", "--mount", "--net", "--ipc", "--uts", "--propagation", "private",
                python, "-I", "-B", Path.Combine(dir, "zygote.py"), $"{ctlFd}", "unshare"]);
            isolation = "unshare (private root by pivot_root; per execution: own pid, mount and ipc namespaces and a dedicated uid; no network)";
        }
        foreach (var a in args) psi.ArgumentList.Add(a);
        return (psi, isolation);
    }
}
