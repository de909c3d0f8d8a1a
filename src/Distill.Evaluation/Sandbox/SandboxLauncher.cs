using System.Diagnostics;

namespace Distill.Evaluation.Sandbox;

/// <summary>
/// Builds the command line that starts one sandboxed Python. With bubblewrap (preferred):
///   setpriv --reuid U --regid U --clear-groups --inh-caps -all   (root only)
///     bwrap --unshare-all --die-with-parent --new-session --uid 1000 --gid 1000
///           --ro-bind /usr /usr, /lib /lib64 /bin /sbin as symlinks, ld.so.cache + alternatives (numpy's BLAS)
///           --proc /proc --dev /dev --size N --tmpfs /tmp --ro-bind IN /box/in --chdir /tmp --setenv ...
///       prlimit --as --cpu --fsize --nproc --nofile --core=0 -- python3 -I -B SCRIPT
/// The process is started with an EMPTY environment (bwrap's own environ is visible inside as
/// /proc/1/environ, REFERENCE.md) and the child gets only the allow-list below. bwrap is run by
/// the unprivileged slot uid, so its user namespace maps to that uid and not to host root, and the
/// sandbox holds no capabilities (verified: CapEff 0, CapBnd 0, NoNewPrivs 1).
/// Without bubblewrap, as root: unshare(1) pid/net/ipc/uts/mount namespaces, a private tmpfs on /tmp
/// and setpriv to the slot uid; weaker, because the host filesystem stays visible (read access
/// as an unprivileged uid), and the verdict's Isolation field says so.
/// </summary>
public static class SandboxLauncher
{
    public const string InsideDir = "/box/in";
    const int InsideUid = 1000;

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

    /// <summary>Start info for `python3 -I -B script` inside the sandbox; <paramref name="hostDir"/> appears read-only at /box/in.</summary>
    public static (ProcessStartInfo Start, string Isolation) Build(SandboxOptions o, UidSlot slot, string hostDir, string script)
    {
        var mode = o.Isolation == IsolationMode.Auto ? (Bwrap is not null ? IsolationMode.Bubblewrap : IsolationMode.Unshare) : o.Isolation;
        var psi = new ProcessStartInfo { UseShellExecute = false, RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.Environment.Clear(); // not even the host's PATH reaches bwrap (visible as /proc/1/environ)
        var limits = Limits(o);
        string insideScript = $"{InsideDir}/{script}";
        if (mode == IsolationMode.Bubblewrap)
        {
            if (Bwrap is null) throw new InvalidOperationException("bubblewrap requested but /usr/bin/bwrap is missing");
            var args = new List<string>();
            string isolation;
            if (slot.Dedicated)
            {
                psi.FileName = "/usr/bin/setpriv";
                // No --pdeathsig: the parent-death signal follows the THREAD that forked, and .NET forks
                // from thread-pool threads that retire when idle, which SIGKILLed long runs (seen on
                // HumanEval+/130 after 22 s). If the host dies, the CPU rlimit ends the run and the
                // next process to take the uid sweeps it.
                args.AddRange([$"--reuid={slot.Uid}", $"--regid={slot.Uid}", "--clear-groups", "--inh-caps=-all", Bwrap]);
                isolation = $"bwrap (user namespace as uid {slot.Uid}, no network)";
            }
            else
            {
                psi.FileName = Bwrap;
                isolation = $"bwrap (unprivileged caller uid {slot.Uid}, shared across slots, no network)";
            }
            args.AddRange(["--unshare-all", "--die-with-parent", "--new-session",
                "--uid", $"{InsideUid}", "--gid", $"{InsideUid}",
                "--ro-bind", "/usr", "/usr",
                "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64",
                "--symlink", "usr/bin", "/bin", "--symlink", "usr/sbin", "/sbin"]);
            foreach (var etc in new[] { "/etc/ld.so.cache", "/etc/alternatives" })
                if (Path.Exists(etc)) args.AddRange(["--ro-bind", etc, etc]);
            // The root bwrap builds is an unlimited tmpfs: remount it read-only once everything is in
            // place, so the size-limited /tmp is the only writable place.
            args.AddRange(["--proc", "/proc", "--dev", "/dev",
                "--size", $"{(long)o.WorkDirMb << 20}", "--tmpfs", "/tmp",
                "--ro-bind", hostDir, InsideDir, "--remount-ro", "/", "--chdir", "/tmp"]);
            foreach (var (k, v) in Environment) args.AddRange(["--setenv", k, v]);
            args.Add("/usr/bin/prlimit");
            args.AddRange(limits);
            args.AddRange(["--", o.Python, "-I", "-B", insideScript, InsideDir]);
            foreach (var a in args) psi.ArgumentList.Add(a);
            return (psi, isolation);
        }
        if (!slot.Dedicated) throw new InvalidOperationException("no bubblewrap, and the unshare fallback needs root to drop to a sandbox uid");
        // unshare fallback: the shell runs as root inside the new mount namespace only to mount the
        // private tmpfs, then setpriv drops to the slot uid before the untrusted interpreter starts.
        psi.FileName = "/usr/bin/unshare";
        string envArgs = string.Join(' ', Environment.Select(kv => $"{kv.Key}={kv.Value}"));
        // The input dir is bound read-only onto /mnt first, because the tmpfs then hides the host's /tmp.
        string inner = $"mount --bind '{hostDir}' /mnt && mount -o remount,bind,ro /mnt && mount -t tmpfs -o size={o.WorkDirMb}m,mode=1777 tmpfs /tmp && cd /tmp && " +
                       $"exec /usr/bin/setpriv --reuid={slot.Uid} --regid={slot.Uid} --clear-groups --inh-caps=-all --bounding-set=-all --no-new-privs " +
                       $"/usr/bin/env -i {envArgs} /usr/bin/prlimit {string.Join(' ', limits)} -- {o.Python} -I -B /mnt/{script} /mnt";
        foreach (var a in new[] { "--pid", "--fork", "--kill-child", "--net", "--ipc", "--uts", "--mount", "--propagation", "private", "--mount-proc", "/bin/sh", "-c", inner })
            psi.ArgumentList.Add(a);
        return (psi, $"unshare (pid/net/mount namespaces as uid {slot.Uid}; weaker: host filesystem readable)");
    }

    static string[] Limits(SandboxOptions o) =>
    [
        $"--as={(long)o.MemoryMb << 20}",
        $"--cpu={o.CpuSeconds}",
        $"--fsize={(long)o.FileSizeMb << 20}",
        $"--nproc={o.MaxProcesses}",
        $"--nofile={o.MaxOpenFiles}",
        "--core=0",
    ];
}
