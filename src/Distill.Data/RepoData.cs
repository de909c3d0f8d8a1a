namespace Distill.Data;

/// <summary>
/// The data shipped in the repository's <c>data/</c> folder (benchmarks, tokenizers; provenance and licence
/// in each <c>SOURCE.md</c>). Found by walking up from the working directory, then from the program's own
/// folder, to the repository root (the folder holding Distill.slnx): `./distill` builds into
/// &lt;repo&gt;/.build/cli and the tests run from &lt;repo&gt;/tests/*/bin, so both find it from a clone alone.
/// </summary>
public static class RepoData
{
    /// <summary>&lt;repo&gt;/data/PARTS... when it exists, else null.</summary>
    public static string? Find(params string[] parts)
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
            for (var d = new DirectoryInfo(start); d is not null; d = d.Parent)
                if (File.Exists(Path.Combine(d.FullName, "Distill.slnx")))
                {
                    var p = Path.Combine([d.FullName, "data", .. parts]);
                    if (Directory.Exists(p) || File.Exists(p)) return p;
                }
        return null;
    }

    /// <summary>&lt;repo&gt;/data/benchmarks (humaneval/, humanevalplus/, mbpp/), or null outside a checkout.</summary>
    public static string? Benchmarks() => Find("benchmarks");
}
