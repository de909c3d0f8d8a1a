using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace Distill.Evaluation.Sandbox;

/// <summary>
/// One sandboxed execution: a fresh child of the zygote (pid 1 of its own pid namespace, see
/// Harness/zygote.py) with its files on a read-only /box/in, capped stderr, and either capped stdout
/// or a line channel on stdout. The files (and, in program mode, the completion nonce) go to the
/// child's stdin, never through the zygote. Killing it SIGKILLs the namespace's init, which makes
/// the kernel end every process in the namespace; the zygote reports the exit only once all are
/// gone. Nothing here waits without a deadline.
/// </summary>
sealed class SandboxedProcess : IDisposable
{
    readonly Zygote _zygote;
    readonly ZygoteChild _child;
    readonly UidSlot? _slot;
    readonly byte[]? _doneToken;
    readonly CappedCapture? _done;
    public string Isolation => _zygote.Isolation;
    public CappedCapture Stderr { get; }
    public CappedCapture? Stdout { get; }
    public LineChannel? Channel { get; }
    public Stream Stdin => _child.Stdin;
    public bool Killed { get; private set; }

    SandboxedProcess(Zygote zygote, ZygoteChild child, UidSlot? slot, SandboxOptions o, bool channel, byte[]? doneToken)
    {
        _zygote = zygote; _child = child; _slot = slot; _doneToken = doneToken;
        Stderr = new CappedCapture(child.Stderr, o.OutputCapBytes);
        if (channel) Channel = new LineChannel(child.Stdout, o.MaxMessageBytes);
        else Stdout = new CappedCapture(child.Stdout, o.OutputCapBytes);
        if (child.Done is not null) _done = new CappedCapture(child.Done, 256);
    }

    /// <summary>Forks a child in <paramref name="mode"/> ("worker", "runner" or "program") with <paramref name="files"/> in /box/in.</summary>
    public static SandboxedProcess Start(SandboxOptions o, IReadOnlyDictionary<string, string> files, string mode, bool channel)
    {
        var zygote = ZygotePool.Get(o);
        var slot = zygote.UidPerChild ? UidSlot.Acquire() : null;
        ZygoteChild? child = null;
        try
        {
            child = zygote.Spawn(mode, slot?.Uid, o);
            var filesJson = new JsonObject();
            foreach (var (name, text) in files) filesJson[name] = text;
            var preamble = new JsonObject { ["files"] = filesJson };
            byte[]? token = null;
            if (mode == "program")
            {
                var nonce = Convert.ToHexString(RandomNumberGenerator.GetBytes(16)).ToLowerInvariant();
                preamble["nonce"] = nonce;
                token = Encoding.ASCII.GetBytes(Convert.ToHexString(SHA256.HashData(Encoding.ASCII.GetBytes("distill-complete:" + nonce))).ToLowerInvariant());
            }
            var body = Encoding.UTF8.GetBytes(preamble.ToJsonString());
            var p = new SandboxedProcess(zygote, child, slot, o, channel, token);
            try
            {
                child.Stdin.Write(Encoding.ASCII.GetBytes($"{body.Length}\n"));
                child.Stdin.Write(body);
                child.Stdin.Flush();
            }
            catch (IOException) { } // the child died during set-up: its stderr says why
            return p;
        }
        catch
        {
            if (child is not null) zygote.Kill(child.Id);
            slot?.Dispose();
            throw;
        }
    }

    public bool HasExited => _child.Exit.Task.IsCompleted;
    public int? ExitCode => HasExited ? _child.Exit.Task.Result : null;

    /// <summary>Program mode: the child wrote the completion token, which only its last line does (Harness/zygote.py).</summary>
    public bool Completed => _doneToken is not null && _done is not null && _done.Completion.IsCompleted && !_done.Truncated
                             && _done.Text == Encoding.ASCII.GetString(_doneToken);

    /// <summary>Waits for exit until the deadline; false when it passed.</summary>
    public async Task<bool> WaitAsync(TimeSpan timeout)
    {
        var exit = _child.Exit.Task;
        return await Task.WhenAny(exit, Task.Delay(timeout)).ConfigureAwait(false) == exit;
    }

    /// <summary>Waits (bounded) for the output readers to reach end of stream.</summary>
    public async Task DrainAsync(TimeSpan timeout)
    {
        var readers = new List<Task> { Stderr.Completion };
        if (Stdout is not null) readers.Add(Stdout.Completion);
        if (_done is not null) readers.Add(_done.Completion);
        await Task.WhenAny(Task.WhenAll(readers), Task.Delay(timeout)).ConfigureAwait(false);
    }

    /// <summary>SIGKILLs the child's pid namespace (bounded wait for the zygote to report it gone).</summary>
    public void Kill()
    {
        if (HasExited) return;
        Killed = true;
        _zygote.Kill(_child.Id);
        _child.Exit.Task.Wait(TimeSpan.FromSeconds(2));
    }

    public void Dispose()
    {
        Kill();
        try { _child.Stdin.Dispose(); } catch (IOException) { } catch (ObjectDisposedException) { }
        _child.Stdout.Dispose();
        _child.Stderr.Dispose();
        _child.Done?.Dispose();
        // The uid is free once the namespace is: the zygote reports the exit of its init only after the kernel
        // has reaped every other process in it.
        _slot?.Release(swept: HasExited);
    }
}
