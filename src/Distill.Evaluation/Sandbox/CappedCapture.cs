using System.Text;

namespace Distill.Evaluation.Sandbox;

/// <summary>
/// Drains a pipe to its end, keeping at most <c>cap</c> bytes: a program printing gigabytes
/// costs reading time but no memory, and the pipe never fills up (which would stall the child).
/// </summary>
sealed class CappedCapture
{
    readonly MemoryStream _kept = new();
    readonly int _cap;
    public Task Completion { get; }
    public bool Truncated { get; private set; }
    public long TotalBytes { get; private set; }

    public CappedCapture(Stream stream, int cap)
    {
        _cap = cap;
        Completion = Task.Run(() => DrainAsync(stream));
    }

    async Task DrainAsync(Stream s)
    {
        var buf = new byte[16384];
        try
        {
            int n;
            while ((n = await s.ReadAsync(buf).ConfigureAwait(false)) > 0)
            {
                TotalBytes += n;
                int keep = (int)Math.Min(n, _cap - _kept.Length);
                if (keep > 0) _kept.Write(buf, 0, keep);
                if (keep < n) Truncated = true;
            }
        }
        catch (IOException) { }
        catch (ObjectDisposedException) { }
    }

    public string Text
    {
        get
        {
            lock (_kept)
            {
                var s = Encoding.UTF8.GetString(_kept.GetBuffer(), 0, (int)_kept.Length);
                return Truncated ? s + $"\n[output truncated at {_cap} bytes]" : s;
            }
        }
    }
}

/// <summary>Reads '\n'-terminated UTF-8 lines of at most <c>max</c> bytes; longer lines are a protocol error.</summary>
sealed class LineChannel(Stream stream, int max)
{
    byte[] _buf = new byte[65536];
    int _start, _end, _scanned; // _scanned: bytes after _start already searched for '\n' (keeps long lines linear)

    /// <summary>The next line, or null at end of stream. Never blocks past the process's death:
    /// callers race it against a deadline and kill the sandbox, which closes the pipe.</summary>
    public async Task<string?> ReadLineAsync()
    {
        while (true)
        {
            int nl = Array.IndexOf(_buf, (byte)'\n', _start + _scanned, _end - _start - _scanned);
            if (nl >= 0)
            {
                var line = Encoding.UTF8.GetString(_buf, _start, nl - _start);
                _start = nl + 1;
                _scanned = 0;
                return line;
            }
            _scanned = _end - _start;
            if (_end - _start > max) throw new InvalidDataException($"message longer than {max} bytes");
            if (_start > 0) { Buffer.BlockCopy(_buf, _start, _buf, 0, _end - _start); _end -= _start; _start = 0; }
            if (_end == _buf.Length) Array.Resize(ref _buf, Math.Min(_buf.Length * 2, max + 2));
            int n;
            try { n = await stream.ReadAsync(_buf.AsMemory(_end)).ConfigureAwait(false); }
            catch (IOException) { n = 0; }
            catch (ObjectDisposedException) { n = 0; }
            if (n == 0) return null;
            _end += n;
        }
    }
}
