using System.Text.Json.Nodes;
using Distill.Training;

namespace Distill.Methods.Preference;

/// <summary>
/// The metrics of rounds of preference training (DPO-KD online iterations, or a single round) joined into one file,
/// so the step-wise reward-margin curves of dpo-kd.txt Fig. 4/7 can be drawn from it: every line of each round's
/// train/metrics.jsonl with "iteration" and "global_step" added. Rebuilt from the rounds' own files each time, so a
/// resumed run writes the same file.
/// </summary>
public static class RoundFiles
{
    public const string Metrics = "metrics.jsonl";
    public const string Iterations = "iterations.jsonl";

    public static void JoinMetrics(string outDir, IReadOnlyList<(int Iteration, string MetricsPath)> rounds)
    {
        var path = Path.Combine(outDir, Metrics);
        var lines = new List<string>();
        int offset = 0;
        foreach (var (iteration, metricsPath) in rounds)
        {
            int last = 0;
            foreach (var line in File.ReadLines(metricsPath))
            {
                if (line.Length == 0) continue;
                var o = JsonNode.Parse(line)!.AsObject();
                int step = (int)o["step"]!;
                var joined = new JsonObject { ["iteration"] = iteration, ["global_step"] = offset + step };
                foreach (var (k, v) in o) joined[k] = v?.DeepClone();
                lines.Add(joined.ToJsonString());
                last = step;
            }
            offset += last;
        }
        WriteAtomic(path, string.Concat(lines.Select(l => l + "\n")));
    }

    /// <summary>Summary of one round's metrics: steps, mean loss, mean and last rewards/margins, last rewards/accuracies.</summary>
    public static JsonObject Summary(string metricsPath)
    {
        var rows = File.ReadLines(metricsPath).Where(l => l.Length > 0).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
        double Mean(string k) => rows.Count == 0 ? double.NaN : rows.Average(r => (double?)r[k] ?? double.NaN);
        double Last(string k) => rows.Count == 0 ? double.NaN : (double?)rows[^1][k] ?? double.NaN;
        var o = new JsonObject { ["steps"] = rows.Count };
        // a metric the objective does not log (SFT has no rewards) is left out, not written as NaN
        foreach (var (k, v) in new[] { ("mean_loss", Mean("loss")), ("mean_rewards/margins", Mean("rewards/margins")),
                     ("last_rewards/margins", Last("rewards/margins")), ("last_rewards/accuracies", Last("rewards/accuracies")) })
            if (double.IsFinite(v)) o[k] = v;
        return o;
    }

    public static void WriteAtomic(string path, string text)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        File.WriteAllText(path + ".tmp", text);
        File.Move(path + ".tmp", path, overwrite: true);
    }

    /// <summary>Copies a folder's files into <paramref name="target"/> through a temporary folder renamed into place.</summary>
    public static void CopyDirectory(string source, string target)
    {
        var tmp = target + ".tmp";
        if (Directory.Exists(tmp)) Directory.Delete(tmp, true);
        Directory.CreateDirectory(tmp);
        foreach (var f in Directory.GetFiles(source)) File.Copy(f, Path.Combine(tmp, Path.GetFileName(f)));
        if (Directory.Exists(target)) Directory.Delete(target, true);
        Directory.Move(tmp, target);
    }

    /// <summary>metrics.jsonl without its wall-clock fields (what a resumed run must reproduce exactly).</summary>
    public static string DeterministicMetrics(string path)
        => string.Concat(File.ReadLines(path).Where(l => l.Length > 0).Select(l =>
        {
            var o = JsonNode.Parse(l)!.AsObject();
            foreach (var k in MetricsWriter.WallClockFields) o.Remove(k);
            return o.ToJsonString() + "\n";
        }));
}
