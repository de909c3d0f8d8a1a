namespace Distill.Data;

/// <summary>
/// Results written whole or not at all (docs/architecture.md §6): the text goes to a temporary file beside the
/// target, which is then renamed over it, so a reader never sees a half-written result and a crash leaves the
/// previous one. <see cref="Jsonl.JsonlWriter"/> streams the same way.
/// </summary>
public static class AtomicFile
{
    /// <summary>The temporary file beside <paramref name="target"/> (same folder, so the rename stays on one file system).</summary>
    public static string TempPath(string target) => target + $".tmp-{Environment.ProcessId}";

    public static void WriteAllText(string path, string text)
    {
        var target = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        var temp = TempPath(target);
        try
        {
            File.WriteAllText(temp, text);
            File.Move(temp, target, overwrite: true);
        }
        finally { if (File.Exists(temp)) File.Delete(temp); }
    }
}
