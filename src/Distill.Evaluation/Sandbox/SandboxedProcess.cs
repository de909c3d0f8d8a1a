using System.Diagnostics;

namespace Distill.Evaluation.Sandbox;

/// <summary>
/// One running sandboxed interpreter: its own uid slot, a read-only input dir on the host, capped
/// stderr, and either capped stdout or a line channel on stdout. Disposing kills the whole tree
/// (SIGKILL to bwrap, whose --die-with-parent takes its pid namespace down; then every process left
/// under the dedicated uid) and deletes the input dir. Nothing here waits without a deadline
/// (dotnet/runtime #29232: a grandchild holding a pipe can block WaitForExit forever).
/// </summary>
sealed class SandboxedProcess : IDisposable
{
    readonly Process _process;
    readonly UidSlot _slot;
    readonly string _hostDir;
    public string Isolation { get; }
    public CappedCapture Stderr { get; }
    public CappedCapture? Stdout { get; }
    public LineChannel? Channel { get; }
    public Stream Stdin => _process.StandardInput.BaseStream;
    public bool Killed { get; private set; }
    bool _swept; // Kill() swept the uid after the child had exited: nothing of this sandbox can be left

    SandboxedProcess(Process p, UidSlot slot, string hostDir, string isolation, SandboxOptions o, bool channel)
    {
        _process = p; _slot = slot; _hostDir = hostDir; Isolation = isolation;
        Stderr = new CappedCapture(p.StandardError.BaseStream, o.OutputCapBytes);
        if (channel) Channel = new LineChannel(p.StandardOutput.BaseStream, o.MaxMessageBytes);
        else Stdout = new CappedCapture(p.StandardOutput.BaseStream, o.OutputCapBytes);
    }

    /// <summary>Writes <paramref name="files"/> into a fresh root-owned, read-only-to-others dir and starts `python3 script` on it.</summary>
    public static SandboxedProcess Start(SandboxOptions o, IReadOnlyDictionary<string, string> files, string script, bool channel)
    {
        var dir = Directory.CreateTempSubdirectory("distill-sbx-").FullName;
        UidSlot? slot = null;
        try
        {
            if (!OperatingSystem.IsLinux()) throw new PlatformNotSupportedException("the sandbox needs Linux namespaces");
            foreach (var (name, text) in files)
            {
                var path = Path.Combine(dir, name);
                File.WriteAllText(path, text);
                File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
            }
            File.SetUnixFileMode(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
                                      UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
            slot = UidSlot.Acquire();
            var (psi, isolation) = SandboxLauncher.Build(o, slot, dir, script);
            var p = ProcessSpawner.Start(psi);
            return new SandboxedProcess(p, slot, dir, isolation, o, channel);
        }
        catch
        {
            slot?.Dispose();
            try { Directory.Delete(dir, true); } catch (IOException) { }
            throw;
        }
    }

    public bool HasExited => _process.HasExited;
    public int? ExitCode => _process.HasExited ? _process.ExitCode : null;

    /// <summary>Waits for exit until the deadline; false when it passed.</summary>
    public async Task<bool> WaitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try { await _process.WaitForExitAsync(cts.Token).ConfigureAwait(false); return true; }
        catch (OperationCanceledException) { return false; }
    }

    /// <summary>Waits (bounded) for the output readers to reach end of stream.</summary>
    public async Task DrainAsync(TimeSpan timeout)
    {
        var readers = Stdout is null ? Stderr.Completion : Task.WhenAll(Stderr.Completion, Stdout.Completion);
        await Task.WhenAny(readers, Task.Delay(timeout)).ConfigureAwait(false);
    }

    /// <summary>
    /// SIGKILLs the sandbox: our child is bwrap itself (setpriv execs it) or unshare. bwrap's --die-with-parent
    /// kills its namespace init when it dies, and the kernel then kills every process of that pid namespace; with a
    /// dedicated uid (root; always so for unshare) the uid sweep below removes anything left. No
    /// Kill(entireProcessTree: true): it enumerates every process on the host through /proc (≈ 22 ms a call with
    /// 66 processes, measured 2026-12-02), four times per test job, and finds nothing the two mechanisms above miss.
    /// </summary>
    public void Kill()
    {
        if (_swept) return;
        if (!_process.HasExited)
        {
            Killed = true;
            try { _process.Kill(); } catch (InvalidOperationException) { } catch (System.ComponentModel.Win32Exception) { }
        }
        // Let the namespace go down first, so that the sweep finds nothing instead of racing the kernel's teardown
        // (each round of the sweep reads /proc; bounded: the sweep SIGKILLs whatever is still there).
        _process.WaitForExit(100);
        _slot.KillLeftovers();
        _swept = _process.HasExited;
    }

    public void Dispose()
    {
        Kill();
        try { _process.StandardInput.Dispose(); } catch (IOException) { } catch (ObjectDisposedException) { }
        _process.WaitForExit(2000); // bounded: the tree is already dead
        _process.Dispose();
        _slot.Release(swept: true); // Kill() above swept the uid
        try { Directory.Delete(_hostDir, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
