namespace Distill.Export.Tests;

static class TestPaths
{
    public static string RepoRoot
    {
        get
        {
            for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
                if (File.Exists(Path.Combine(d.FullName, "Distill.slnx"))) return d.FullName;
            throw new InvalidOperationException("Distill.slnx not found above " + AppContext.BaseDirectory);
        }
    }

    public static string Gpt2Tokenizer => Path.Combine(RepoRoot, "data", "tokenizers", "gpt2");

    /// <summary>
    /// This test run's folder under the temp directory. Each run writes six model folders over GPT-2's vocabulary and
    /// dozens of GGUF files (≈ 0.5 GB), which filled the disk of a shared machine; the test host is ended without its
    /// exit handlers running, so instead each run deletes the folders that runs left there more than two hours ago
    /// (no run takes that long; a younger folder may belong to a run in progress).
    /// </summary>
    static readonly Lazy<string> RunRoot = new(() =>
    {
        var parent = new DirectoryInfo(Path.Combine(Path.GetTempPath(), "distill-export-tests"));
        parent.Create();
        foreach (var stale in parent.EnumerateDirectories().Where(d => d.LastWriteTimeUtc < DateTime.UtcNow.AddHours(-2)))
        {
            try { stale.Delete(recursive: true); }
            catch (IOException) { }                 // another run sweeping the same folder
            catch (UnauthorizedAccessException) { } // another user's run
        }
        var root = Path.Combine(parent.FullName, Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(root);
        return root;
    });

    public static string TempDir()
    {
        var dir = Path.Combine(RunRoot.Value, Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }
}
