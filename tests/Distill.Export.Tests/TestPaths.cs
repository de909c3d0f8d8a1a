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

    public static string TempDir()
    {
        var dir = Path.Combine(Path.GetTempPath(), "distill-export-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }
}
