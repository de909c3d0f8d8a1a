using System.Text;

namespace Distill.Methods.Runs;

/// <summary>
/// The layout of a run (DESIGN.md §3): recipe.yaml (resolved), data/, cache.sqlite, checkpoints/,
/// metrics.jsonl, eval/, and stages/NAME.json — a stage's completion marker with its cost.
/// </summary>
public sealed class RunDirectory
{
    public string Root { get; }

    public RunDirectory(string root, string? cache = null)
    {
        Root = Path.GetFullPath(root);
        Cache = cache is { Length: > 0 } ? Path.GetFullPath(cache) : Path.Combine(Root, "cache.sqlite");
        foreach (var d in new[] { Data, Checkpoints, Eval, Stages }) Directory.CreateDirectory(d);
    }

    public string Recipe => Path.Combine(Root, "recipe.yaml");
    public string Data => Path.Combine(Root, "data");
    /// <summary>The response cache: the run's cache.sqlite, or teacher.cache (a cache several runs share).</summary>
    public string Cache { get; }
    public string Checkpoints => Path.Combine(Root, "checkpoints");
    public string Metrics => Path.Combine(Root, "metrics.jsonl");
    public string Eval => Path.Combine(Root, "eval");
    public string Stages => Path.Combine(Root, "stages");
    public string Log => Path.Combine(Root, "run.log");

    public string DataFile(string name) => Path.Combine(Data, name);
    public string Marker(string stage) => Path.Combine(Stages, stage + ".json");

    /// <summary>Writes a whole file through a temporary beside it and a rename, so a reader never sees half of it.</summary>
    public static void WriteAtomic(string path, string text)
    {
        var temp = path + $".tmp-{Environment.ProcessId}";
        File.WriteAllText(temp, text, new UTF8Encoding(false));
        File.Move(temp, path, overwrite: true);
    }
}
