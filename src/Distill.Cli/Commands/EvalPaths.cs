namespace Distill.Cli.Commands;

/// <summary>Where the shared benchmark data lives: `&lt;repo root&gt;/../shared/data/benchmarks` (HELPERS.md).</summary>
static class EvalPaths
{
    public static string? DefaultBenchmarks()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
            for (var d = new DirectoryInfo(start); d is not null; d = d.Parent)
                if (File.Exists(Path.Combine(d.FullName, "Distill.slnx")))
                {
                    var p = Path.GetFullPath(Path.Combine(d.FullName, "..", "shared", "data", "benchmarks"));
                    if (Directory.Exists(p)) return p;
                }
        return null;
    }
}
