using System.Text.Json.Nodes;
using Distill.Report;

namespace Distill.Methods.Demo;

/// <summary>Training curves read back from each run's metrics.jsonl (one line per optimizer step, Trainer's format).</summary>
public static class DemoCurves
{
    /// <summary>
    /// Where a run's step metrics are: the teacher's fine-tuning (models/teacher-sft), the student start's SFT (base run),
    /// PLaD's calibration run (distill/), every other method's run root (DPO-KD: all rounds joined, with global_step).
    /// </summary>
    public static string? MetricsFile(string name, DemoPaths paths)
    {
        string[] candidates = name switch
        {
            "teacher" => [Path.Combine(paths.BaseRun, "models", "teacher-sft", "metrics.jsonl")],
            "student" => [Path.Combine(paths.BaseRun, "metrics.jsonl")],
            _ => [Path.Combine(paths.Run(name), "metrics.jsonl"), Path.Combine(paths.Run(name), "distill", "metrics.jsonl")],
        };
        return candidates.FirstOrDefault(File.Exists);
    }

    public static List<Point> Loss(string name, DemoPaths paths) => Read(MetricsFile(name, paths), "loss");

    /// <summary>DPO-KD Fig. 4: TRL's rewards/margins (chosen − rejected implicit reward) per global step; PLaD's are ℓ(y⁺) − ℓ(y⁻).</summary>
    public static List<Point> Margins(string name, DemoPaths paths) => Read(MetricsFile(name, paths), "rewards/margins");

    static List<Point> Read(string? file, string field)
    {
        var points = new List<Point>();
        if (file is null) return points;
        int i = 0;
        foreach (var line in File.ReadLines(file))
        {
            if (string.IsNullOrWhiteSpace(line)) continue;
            i++;
            var j = JsonNode.Parse(line)!.AsObject();
            if (j[field] is not JsonValue v || !v.TryGetValue<double>(out var y) || !double.IsFinite(y)) continue;
            double x = j["global_step"] is JsonValue g ? (double)g : j["step"] is JsonValue s ? (double)s : i;
            points.Add(new Point(x, Math.Round(y, 6)));
        }
        return points;
    }
}
