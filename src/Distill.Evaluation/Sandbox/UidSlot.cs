namespace Distill.Evaluation.Sandbox;

/// <summary>
/// A host uid reserved for one sandboxed process. RLIMIT_NPROC counts every process of a uid on
/// the host and is ignored for root (REFERENCE.md, "Running untrusted code"), so each concurrently
/// running sandbox gets its own unprivileged uid (61000–61999, no /etc/passwd entry needed). The
/// reservation is an exclusive lock on a file under /run (or /tmp), so separate Distill processes
/// on one machine never share a uid. Because the uid is dedicated, every process still owned by
/// it after a run is a leftover of that run and is killed (<see cref="KillLeftovers"/>).
/// Not running as root, there is no uid to choose: <see cref="Uid"/> is the caller's own uid.
/// </summary>
public sealed class UidSlot : IDisposable
{
    const int First = 61000, Count = 1000;
    static readonly HashSet<int> Held = []; // uids this process holds now
    static readonly HashSet<int> Swept = []; // uids this process has already cleared of strangers
    readonly FileStream? _lock;
    bool _released;

    public int Uid { get; }
    /// <summary>True when this uid belongs to this run alone (we are root and reserved it).</summary>
    public bool Dedicated => _lock is not null;

    UidSlot(int uid, FileStream? lockFile) { Uid = uid; _lock = lockFile; }

    public static bool IsRoot => Environment.UserName == "root" || GetEffectiveUid() == 0;

    static int GetEffectiveUid()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith("Uid:", StringComparison.Ordinal))
                return int.Parse(line.Split('\t', StringSplitOptions.RemoveEmptyEntries)[2]);
        return -1;
    }

    public static UidSlot Acquire()
    {
        if (!IsRoot) return new UidSlot(GetEffectiveUid(), null);
        var dir = Directory.Exists("/run") ? "/run/distill-sandbox" : Path.Combine(Path.GetTempPath(), "distill-sandbox");
        Directory.CreateDirectory(dir);
        // Lowest free uid first: a run keeps reusing the same few uids, so the first-use sweep below (a /proc scan)
        // happens a handful of times per process instead of once per execution.
        for (int uid = First; uid < First + Count; uid++)
        {
            lock (Held) { if (!Held.Add(uid)) continue; }
            try
            {
                var fs = new FileStream(Path.Combine(dir, $"uid-{uid}.lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
                var slot = new UidSlot(uid, fs);
                bool first;
                lock (Swept) first = Swept.Add(uid);
                if (first) slot.KillLeftovers(); // a crashed earlier process may have left something behind
                return slot;
            }
            catch (IOException) { lock (Held) Held.Remove(uid); } // held by another run: try the next uid
        }
        throw new InvalidOperationException($"no free sandbox uid in {First}..{First + Count - 1}");
    }

    /// <summary>Processes currently owned by this uid (real uid), from /proc.</summary>
    public List<int> Processes()
    {
        var pids = new List<int>();
        if (!Dedicated) return pids;
        foreach (var d in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(d), out int pid)) continue;
            try
            {
                foreach (var line in File.ReadLines(Path.Combine(d, "status")))
                {
                    // Zombies are dead already (their parent reaps them); they keep their uid in /proc.
                    if (line.StartsWith("State:", StringComparison.Ordinal) && (line.Contains('Z') || line.Contains('X'))) break;
                    if (line.StartsWith("Uid:", StringComparison.Ordinal))
                    {
                        if (int.Parse(line.Split('\t', StringSplitOptions.RemoveEmptyEntries)[1]) == Uid) pids.Add(pid);
                        break;
                    }
                }
            }
            catch (IOException) { } // exited while we looked
            catch (UnauthorizedAccessException) { }
        }
        return pids;
    }

    /// <summary>SIGKILLs every process of the dedicated uid until none is left (bounded retries).</summary>
    public int KillLeftovers()
    {
        int killed = 0;
        for (int round = 0; round < 20; round++)
        {
            var pids = Processes();
            if (pids.Count == 0) return killed;
            foreach (var pid in pids) { if (Native.Kill(pid, 9) == 0) killed++; }
            Thread.Sleep(5);
        }
        return killed;
    }

    public void Dispose() => Release(swept: false);

    /// <summary>Frees the uid; <paramref name="swept"/> = the caller has just run <see cref="KillLeftovers"/>.</summary>
    public void Release(bool swept)
    {
        if (_lock is null || _released) return;
        _released = true;
        if (!swept) KillLeftovers();
        _lock.Dispose();
        lock (Held) Held.Remove(Uid);
    }
}
