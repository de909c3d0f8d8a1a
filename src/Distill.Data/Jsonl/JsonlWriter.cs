using System.Text.Json;
using System.Text.Json.Nodes;

namespace Distill.Data.Jsonl;

/// <summary>
/// Writes JSON Lines to a temporary file beside the target and renames it over the target on
/// <see cref="Commit"/>, so a partial output never looks complete (docs/architecture.md §6). Disposing without
/// Commit deletes the temporary file. Path "-" writes straight to standard output.
/// </summary>
public sealed class JsonlWriter : IDisposable
{
    static readonly JsonSerializerOptions Options = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    readonly string? _target, _temp;
    readonly TextWriter _writer;
    bool _done;

    public JsonlWriter(string path)
    {
        if (path == "-") { _writer = Console.Out; return; }
        _target = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(_target)!);
        _temp = AtomicFile.TempPath(_target);
        _writer = new StreamWriter(_temp, append: false, new System.Text.UTF8Encoding(false));
    }

    public void Write(JsonObject record)
    {
        _writer.Write(record.ToJsonString(Options));
        _writer.Write('\n');
    }

    /// <summary>Flushes and moves the finished file into place.</summary>
    public void Commit()
    {
        _writer.Flush();
        if (_target is null) { _done = true; return; }
        _writer.Dispose();
        File.Move(_temp!, _target, overwrite: true);
        _done = true;
    }

    public void Dispose()
    {
        if (_target is null) { _writer.Flush(); return; }
        if (_done) return;
        _writer.Dispose();
        try { File.Delete(_temp!); } catch (IOException) { }
    }
}
