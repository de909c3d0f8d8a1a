using System.Text.Json;
using System.Text.Json.Serialization;

namespace Distill.Report;

// The contract between `distill demo` (which fills it, stage by stage, into DIR/results.json) and the
// report (console table, report.html). Everything the report draws comes from here, so a report can be
// re-rendered from a finished run without recomputing anything: `distill demo --report-only --out DIR`.

/// <summary>A point estimate with its 95% bootstrap interval over test problems (null bounds: not computed).</summary>
public sealed record Estimate(double Mean, double? Lo = null, double? Hi = null, int N = 0);

/// <summary>One (x, y) point of a curve: a training step and a loss, a fraction and a win rate, ...</summary>
public sealed record Point(double X, double Y);

/// <summary>A model of the demo: the teacher, the student before distillation, or a distilled student.</summary>
public sealed record ModelResult
{
    /// <summary>"teacher", "student", or the method: sft, seqkd, kd-fkl, kd-rkl, dpo-kd-offline, dpo-kd-online, plad-rank, plad-margin, persd-plain, persd-refine.</summary>
    public required string Name { get; init; }
    /// <summary>"reference" (teacher, student), "baseline" (sft, seqkd), "token-kd", "preference", "persd".</summary>
    public required string Family { get; init; }
    public long Parameters { get; init; }
    public long TrainableParameters { get; init; }

    // code generation view, test shard, sandboxed hidden tests
    public Estimate? Pass1 { get; init; }
    /// <summary>pass@k for the k the preset samples (k ≤ n), unbiased estimator of Chen et al. 2021.</summary>
    public Dictionary<string, Estimate>? PassK { get; init; }

    // code summarization view, test shard
    public Estimate? Rouge1 { get; init; }
    public Estimate? Rouge2 { get; init; }
    public Estimate? RougeL { get; init; }
    public double? MeanWords { get; init; }
    /// <summary>Win rate against the reference summaries under the demo's reward model (PLaD §5 evaluation).</summary>
    public Estimate? RewardWinRate { get; init; }
    /// <summary>Win rate against the student before distillation under the pairwise judge, both orders (DPO-KD judge prompt).</summary>
    public Estimate? JudgeWinRate { get; init; }
    /// <summary>Win rate against the teacher under the same judge.</summary>
    public Estimate? WinRateVsTeacher { get; init; }

    /// <summary>Share of the teacher−student pass@1 gap closed: (m − s) / (t − s).</summary>
    public double? GapClosed { get; init; }
    /// <summary>Teacher answers the method consumed (examples), and their tokens and cost.</summary>
    public long TeacherExamples { get; init; }
    public long TeacherTokens { get; init; }
    public double? TeacherCostUsd { get; init; }
    public double TrainSeconds { get; init; }

    /// <summary>Training loss per optimizer step.</summary>
    public List<Point> LossCurve { get; init; } = [];
    /// <summary>Preference methods: mean reward margin (chosen − rejected implicit reward) per step (DPO-KD Fig. 4).</summary>
    public List<Point> RewardMargins { get; init; } = [];
    /// <summary>Human-readable verdict against the student start (paired bootstrap): "helped by 6.1 points pass@1 [+2.0, +10.3]; gap closed 40% [13, 70]; summaries: no significant change in ROUGE-L: …", "hurt by …", "no significant change …".</summary>
    public string? Verdict { get; init; }
}

/// <summary>The whole demo run.</summary>
public sealed record DemoResults
{
    public required string Preset { get; init; }
    public int Seed { get; init; }
    /// <summary>CPU model, cores, OS, .NET version: where the figures were measured.</summary>
    public required string Machine { get; init; }
    public DateTimeOffset Started { get; init; }
    public double WallSeconds { get; init; }
    /// <summary>"rule-based" (the offline demo judge, labelled as such) or the LLM judge's model name.</summary>
    public string Judge { get; init; } = "rule-based";
    public int TestProblems { get; init; }
    public List<ModelResult> Models { get; init; } = [];
    /// <summary>PLaD's win rate against the fraction of distillation data used (PLaD §5.5 figure).</summary>
    public List<Point> PladFraction { get; init; } = [];
    /// <summary>Free-form notes the pipeline wants in the report (e.g. "teacher beats student by 21.3 pass@1").</summary>
    public List<string> Notes { get; init; } = [];

    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        WriteIndented = true,
    };

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    public static DemoResults Load(string path)
    {
        try { return JsonSerializer.Deserialize<DemoResults>(File.ReadAllText(path), Json) ?? throw new InvalidDataException($"{path}: empty"); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: line {e.LineNumber + 1}: {e.Message}", e); }
    }
}
