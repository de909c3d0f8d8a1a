namespace Distill.Report.Tests;

/// <summary>
/// A demo run as `distill demo --preset standard` fills it: teacher, student and the ten methods, with 95% intervals,
/// loss curves, reward margins and PLaD's data-fraction sweep. Figures are invented but shaped like the papers'
/// (offline DPO-KD margins climb faster than online ones, Fig. 4; one method hurts, as DPO-KD reports on HumanEval).
/// </summary>
static class DemoFixture
{
    public static readonly string[] Methods =
        ["sft", "seqkd", "kd-fkl", "kd-rkl", "dpo-kd-offline", "dpo-kd-online", "plad-rank", "plad-margin", "persd-plain", "persd-refine"];

    static Estimate Est(double mean, double half, int n = 120) => new(mean, Math.Max(0, mean - half), Math.Min(1, mean + half * 1.1), n);

    public static DemoResults Standard()
    {
        var rng = new Random(7);
        List<Point> Curve(int steps, double start, double end, double noise) =>
            [.. Enumerable.Range(1, steps).Select(s => new Point(s, end + (start - end) * Math.Exp(-4.0 * s / steps) + noise * (rng.NextDouble() - 0.5)))];
        List<Point> Margins(int steps, double top, double rate) =>
            [.. Enumerable.Range(1, steps).Select(s => new Point(s, top * (1 - Math.Exp(-rate * s / steps)) + 0.08 * (rng.NextDouble() - 0.5)))];

        var models = new List<ModelResult>
        {
            new()
            {
                Name = "teacher", Family = "reference", Parameters = 6_300_000, TrainableParameters = 6_300_000,
                Pass1 = Est(0.462, 0.071), PassK = new() { ["pass@5"] = Est(0.611, 0.066) },
                Rouge1 = Est(0.412, 0.03), Rouge2 = Est(0.188, 0.025), RougeL = Est(0.371, 0.03), MeanWords = 14.2,
                RewardWinRate = Est(0.47, 0.08), JudgeWinRate = Est(0.74, 0.07), TrainSeconds = 312,
                LossCurve = Curve(300, 5.8, 1.1, 0.12),
            },
            new()
            {
                Name = "student", Family = "reference", Parameters = 1_100_000, TrainableParameters = 1_100_000,
                Pass1 = Est(0.233, 0.062), PassK = new() { ["pass@5"] = Est(0.364, 0.07) },
                Rouge1 = Est(0.301, 0.03), Rouge2 = Est(0.102, 0.02), RougeL = Est(0.268, 0.03), MeanWords = 17.9,
                RewardWinRate = Est(0.21, 0.06), WinRateVsTeacher = Est(0.19, 0.06), TrainSeconds = 96,
                LossCurve = Curve(300, 5.8, 1.6, 0.12),
            },
        };
        (string Family, double Pass1, long Examples, double Cost, string? Verdict)[] spec =
        [
            ("baseline", 0.251, 0, 0, null),
            ("baseline", 0.287, 2000, 0, "helped +5.4 pass@1 (CI 0.8..9.9)"),
            ("token-kd", 0.279, 2000, 0, "helped +4.6 pass@1 (CI 0.2..9.1)"),
            ("token-kd", 0.266, 2000, 0, "no clear change +3.3 pass@1 (CI -1.2..7.9)"),
            ("preference", 0.312, 2000, 0, "helped +7.9 pass@1 (CI 3.1..12.6)"),
            ("preference", 0.224, 6000, 0, "hurt -0.9 pass@1 (CI -5.5..3.6)"),
            ("preference", 0.366, 2000, 0, "helped +13.3 pass@1 (CI 7.9..18.8)"),
            ("preference", 0.341, 2000, 0, "helped +10.8 pass@1 (CI 5.6..16.1)"),
            ("persd", 0.276, 611, 0, "helped +4.3 pass@1 (CI 0.1..8.6)"),
            ("persd", 0.294, 611, 0, "helped +6.1 pass@1 (CI 1.7..10.5)"),
        ];
        for (int i = 0; i < Methods.Length; i++)
        {
            var (family, p1, examples, cost, verdict) = spec[i];
            string name = Methods[i];
            bool pref = family == "preference";
            models.Add(new ModelResult
            {
                Name = name, Family = family, Parameters = 1_100_000, TrainableParameters = 98_304,
                Pass1 = Est(p1, 0.065), PassK = new() { ["pass@5"] = Est(Math.Min(1, p1 + 0.14), 0.07) },
                Rouge1 = Est(0.30 + 0.05 * (p1 - 0.22) / 0.14, 0.03), Rouge2 = Est(0.10 + 0.03 * (p1 - 0.22) / 0.14, 0.02),
                RougeL = Est(0.27 + 0.05 * (p1 - 0.22) / 0.14, 0.03), MeanWords = 15 + 3 * rng.NextDouble(),
                RewardWinRate = Est(0.2 + 0.9 * (p1 - 0.2), 0.07), JudgeWinRate = Est(0.5 + 1.6 * (p1 - 0.233), 0.08),
                WinRateVsTeacher = Est(0.2 + 1.2 * (p1 - 0.2), 0.07),
                GapClosed = (p1 - 0.233) / (0.462 - 0.233),
                TeacherExamples = examples, TeacherTokens = examples * 61, TeacherCostUsd = cost, TrainSeconds = 40 + 60 * rng.NextDouble(),
                LossCurve = pref ? Curve(200, 0.693, name.StartsWith("plad") ? 0.25 : 0.35, 0.05)
                    : family == "token-kd" ? Curve(250, 2.4, 0.6, 0.08) : Curve(250, 2.2, 1.2, 0.1),
                RewardMargins = name switch
                {
                    "dpo-kd-offline" => Margins(200, 2.6, 5),
                    "dpo-kd-online" => Margins(200, 0.9, 2.5),
                    "plad-rank" or "plad-margin" => Margins(200, 1.6, 4),
                    _ => [],
                },
                Verdict = verdict,
            });
        }
        return new DemoResults
        {
            Preset = "standard", Seed = 1234, Machine = "AMD EPYC 7B13, 2 cores, Debian 12, .NET 10.0.1",
            Started = new DateTimeOffset(2026, 12, 3, 5, 0, 0, TimeSpan.Zero), WallSeconds = 1085, Judge = "rule-based", TestProblems = 120,
            Models = models,
            PladFraction = [new(0.1, 0.52), new(0.25, 0.58), new(0.5, 0.63), new(0.75, 0.66), new(1.0, 0.68)],
            Notes = ["PERsD used 611 teacher refinements, 31% of SeqKD's 2000 examples."],
        };
    }
}
