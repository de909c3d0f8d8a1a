namespace Distill.Models.Tests;

/// <summary>Locates the committed reference fixtures from the test binary's folder.</summary>
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

    public static string Reference(params string[] parts)
        => Path.Combine([RepoRoot, "tests", "Distill.Models.Tests", "reference", .. parts]);

    public static string TempDir()
    {
        var dir = Path.Combine(Path.GetTempPath(), "distill-models-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }
}
