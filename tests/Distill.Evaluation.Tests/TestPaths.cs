namespace Distill.Evaluation.Tests;

static class TestPaths
{
    /// <summary>&lt;repo root&gt;/data/benchmarks, the repo root being the folder with Distill.slnx.</summary>
    public static string Benchmarks
    {
        get
        {
            for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
                if (File.Exists(Path.Combine(d.FullName, "Distill.slnx")))
                    return Path.GetFullPath(Path.Combine(d.FullName, "data", "benchmarks"));
            throw new DirectoryNotFoundException("repo root (Distill.slnx) not found above " + AppContext.BaseDirectory);
        }
    }
}
