using System.Collections.Concurrent;
using System.Diagnostics;
using System.IO.Pipes;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Win32.SafeHandles;

namespace Distill.Evaluation.Sandbox;

/// <summary>
/// One execution forked by the zygote: pid 1 of its own pid namespace, with the host ends of its
/// stdin/stdout/stderr (and, in program mode, of its completion pipe).
/// </summary>
sealed class ZygoteChild(int id, Stream stdin, Stream stdout, Stream stderr, Stream? done)
{
    public int Id { get; } = id;
    public Stream Stdin { get; } = stdin;
    public Stream Stdout { get; } = stdout;
    public Stream Stderr { get; } = stderr;
    public Stream? Done { get; } = done;
    /// <summary>Exit code as .NET reports it: the code, or 128 + signal.</summary>
    public TaskCompletionSource<int> Exit { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>
/// The host side of Harness/zygote.py: a pre-imported interpreter in an outer sandbox (bubblewrap, or
/// unshare with a private root) that forks one fresh, fully isolated child per execution instead of
/// starting two cold sandboxed interpreters (docs/evaluation.md, "The sandbox"; docs/performance.md).
/// Messages are JSON packets on a SOCK_SEQPACKET socket the zygote inherits; the host ends of each
/// child's pipes come back with SCM_RIGHTS, so the zygote never sees what the child reads or writes.
/// </summary>
sealed class Zygote : IDisposable
{
    readonly Process _process;
    readonly int _ctl;
    readonly UidSlot? _slot;
    readonly string _dir;
    readonly CappedCapture _stderr;
    readonly object _sendLock = new();
    readonly ConcurrentDictionary<int, TaskCompletionSource<ZygoteChild>> _pending = new();
    readonly ConcurrentDictionary<int, ZygoteChild> _children = new();
    readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    int _nextId;
    volatile bool _dead;

    public IsolationMode Mode { get; }
    public string Isolation { get; }
    public bool Alive => !_dead && !_process.HasExited;
    /// <summary>unshare path: the zygote is root in its namespaces and gives each child a dedicated host uid.</summary>
    public bool UidPerChild => Mode == IsolationMode.Unshare;

    Zygote(Process p, int ctl, UidSlot? slot, string dir, IsolationMode mode, string isolation)
    {
        _process = p; _ctl = ctl; _slot = slot; _dir = dir; Mode = mode; Isolation = isolation;
        _stderr = new CappedCapture(p.StandardError.BaseStream, 16384);
        _ = new CappedCapture(p.StandardOutput.BaseStream, 0);
        new Thread(ReadLoop) { IsBackground = true, Name = "distill-sandbox-zygote" }.Start();
    }

    public static Zygote Start(IsolationMode mode, string python)
    {
        if (!OperatingSystem.IsLinux()) throw new PlatformNotSupportedException("the sandbox needs Linux namespaces");
        var dir = Directory.CreateTempSubdirectory("distill-zygote-").FullName;
        UidSlot? slot = null;
        int host = -1, child = -1;
        Zygote? z = null;
        try
        {
            foreach (var name in new[] { "zygote.py", "wire.py", "worker.py", "runner.py" })
            {
                var path = Path.Combine(dir, name);
                File.WriteAllText(path, HarnessScripts.Get(name));
                File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
            }
            File.SetUnixFileMode(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
                                      UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
            if (mode == IsolationMode.Bubblewrap && UidSlot.IsRoot) slot = UidSlot.Acquire();
            (host, child) = Native.ControlPair();
            var (psi, isolation) = SandboxLauncher.BuildZygote(mode, python, slot, dir, child);
            // Every sandbox start goes through this one thread (ProcessSpawner), so no other child can inherit
            // the zygote's end of the socket in the moment before it is closed here.
            var p = ProcessSpawner.Start(psi);
            Native.Close(child);
            child = -1;
            z = new Zygote(p, host, slot, dir, mode, isolation);
            if (!z._ready.Task.Wait(TimeSpan.FromSeconds(20)) || z._dead)
            {
                p.WaitForExit(500);
                var why = z._stderr.Text.Trim();
                throw new InvalidOperationException($"the {SandboxLauncher.Name(mode)} sandbox did not start" + (why.Length > 0 ? ": " + why : ""));
            }
            return z;
        }
        catch
        {
            if (child >= 0) Native.Close(child);
            if (z is not null) z.Dispose(); // closes the socket, frees the uid, deletes the dir
            else
            {
                if (host >= 0) Native.Close(host);
                slot?.Dispose();
                try { Directory.Delete(dir, true); } catch (IOException) { }
            }
            throw;
        }
    }

    void Send(JsonObject msg)
    {
        var bytes = Encoding.UTF8.GetBytes(msg.ToJsonString());
        lock (_sendLock)
        {
            if (_dead) throw new IOException("the sandbox zygote is gone: " + _stderr.Text.Trim());
            Native.SendPacket(_ctl, bytes);
        }
    }

    /// <summary>Forks a child in <paramref name="mode"/> ("worker", "runner" or "program").</summary>
    public ZygoteChild Spawn(string mode, int? uid, SandboxOptions o)
    {
        int id = Interlocked.Increment(ref _nextId);
        var tcs = new TaskCompletionSource<ZygoteChild>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = tcs;
        Send(new JsonObject
        {
            ["op"] = "spawn", ["id"] = id, ["mode"] = mode, ["uid"] = uid, ["tmp_mb"] = o.WorkDirMb,
            ["limits"] = new JsonObject
            {
                ["as"] = (long)o.MemoryMb << 20, ["cpu"] = o.CpuSeconds, ["fsize"] = (long)o.FileSizeMb << 20,
                ["nproc"] = o.MaxProcesses, ["nofile"] = o.MaxOpenFiles,
            },
        });
        if (!tcs.Task.Wait(TimeSpan.FromSeconds(20))) { _pending.TryRemove(id, out _); throw new IOException("the sandbox zygote did not answer a spawn request"); }
        return tcs.Task.Result;
    }

    public void Kill(int id)
    {
        try { Send(new JsonObject { ["op"] = "kill", ["id"] = id }); }
        catch (IOException) { } // gone: its children are gone with it
    }

    void ReadLoop()
    {
        while (true)
        {
            var (data, fds) = Native.ReceivePacket(_ctl);
            if (data.Length == 0) break;
            JsonObject msg;
            try { msg = JsonNode.Parse(data) as JsonObject ?? throw new FormatException(); }
            catch (Exception e) when (e is FormatException or System.Text.Json.JsonException) { foreach (var fd in fds) Native.Close(fd); continue; }
            var ev = (string?)msg["ev"];
            int id = (int?)msg["id"] ?? 0;
            switch (ev)
            {
                case "ready": _ready.TrySetResult(); break;
                case "spawned" when _pending.TryRemove(id, out var tcs) && fds.Length >= 3:
                    var c = new ZygoteChild(id, Pipe(fds[0], PipeDirection.Out), Pipe(fds[1], PipeDirection.In), Pipe(fds[2], PipeDirection.In),
                        fds.Length > 3 ? Pipe(fds[3], PipeDirection.In) : null);
                    _children[id] = c;
                    tcs.TrySetResult(c);
                    break;
                case "exit" when _children.TryRemove(id, out var done):
                    done.Exit.TrySetResult(msg["signal"] is { } sig ? 128 + (int)sig : (int?)msg["code"] ?? -1);
                    break;
                case "error" when _pending.TryRemove(id, out var failed):
                    failed.TrySetException(new IOException("the sandbox zygote could not fork: " + (string?)msg["message"]));
                    break;
                default:
                    foreach (var fd in fds) Native.Close(fd);
                    break;
            }
        }
        _dead = true;
        _ready.TrySetResult();
        foreach (var (_, tcs) in _pending) tcs.TrySetException(new IOException("the sandbox zygote is gone: " + _stderr.Text.Trim()));
        foreach (var (_, c) in _children) c.Exit.TrySetResult(128 + 9); // its namespace, and so every child, died with it
    }

    static Stream Pipe(int fd, PipeDirection direction) => new AnonymousPipeClientStream(direction, new SafePipeHandle(fd, ownsHandle: true));

    public void Dispose()
    {
        _dead = true;
        try { _process.Kill(); } catch (InvalidOperationException) { } catch (System.ComponentModel.Win32Exception) { }
        _process.WaitForExit(2000);
        Native.Close(_ctl);
        _process.Dispose();
        _slot?.Dispose();
        try { Directory.Delete(_dir, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

/// <summary>
/// One zygote per isolation mode and interpreter for the whole host process, started on first use
/// and restarted if it dies. It ends when the host does: the zygote exits when its control socket
/// closes, and the kernel then ends every child (bwrap's --die-with-parent and unshare's
/// --kill-child cover a zygote that does not).
/// </summary>
static class ZygotePool
{
    static readonly Dictionary<(IsolationMode, string), Zygote> Zygotes = [];

    public static Zygote Get(SandboxOptions o)
    {
        var mode = SandboxLauncher.Resolve(o.Isolation);
        lock (Zygotes)
        {
            if (Zygotes.TryGetValue((mode, o.Python), out var z) && z.Alive) return z;
            z?.Dispose();
            return Zygotes[(mode, o.Python)] = Zygote.Start(mode, o.Python);
        }
    }
}

/// <summary>The embedded Harness/*.py scripts.</summary>
static class HarnessScripts
{
    static readonly ConcurrentDictionary<string, string> Cache = new();

    public static string Get(string name) => Cache.GetOrAdd(name, n =>
    {
        using var s = typeof(HarnessScripts).Assembly.GetManifestResourceStream($"Distill.Evaluation.Sandbox.Harness.{n}")
            ?? throw new InvalidOperationException($"embedded harness script {n} missing");
        return new StreamReader(s).ReadToEnd();
    });
}
