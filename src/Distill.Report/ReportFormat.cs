using System.Globalization;

namespace Distill.Report;

/// <summary>
/// How the console table and report.html spell the figures of <see cref="DemoResults"/>, so both say the same thing.
/// Rates (pass@k, ROUGE, win rates, gap closed) are fractions in [0, 1] in results.json and shown in percent.
/// A figure the run did not produce is "–", never 0.
/// </summary>
public static class ReportFormat
{
    public const string Missing = "–";
    static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>The order the tables and charts list models in: teacher, student, then the methods as the run listed them.</summary>
    public static List<ModelResult> Ordered(DemoResults r) =>
        [.. r.Models.Select((m, i) => (m, i)).OrderBy(t => t.m.Name switch { "teacher" => 0, "student" => 1, _ => 2 }).ThenBy(t => t.i).Select(t => t.m)];

    public static bool IsReference(ModelResult m) => m.Family == "reference" || m.Name is "teacher" or "student";

    /// <summary>"41.2" (percent of a fraction) or "–".</summary>
    public static string Pct(double? v) => v is double d && double.IsFinite(d) ? (100 * d).ToString("F1", Inv) : Missing;

    public static string Pct(Estimate? e) => Pct(e?.Mean);

    /// <summary>"[35.0, 47.1]" or "" when the interval was not computed.</summary>
    public static string Ci(Estimate? e) =>
        e is { Lo: double lo, Hi: double hi } && double.IsFinite(lo) && double.IsFinite(hi) ? $"[{Pct(lo)}, {Pct(hi)}]" : "";

    /// <summary>"41.2 [35.0, 47.1]", "41.2" or "–".</summary>
    public static string PctCi(Estimate? e) => e is null ? Missing : (Pct(e) + " " + Ci(e)).TrimEnd();

    public static string Number(double? v, string format = "F1") => v is double d && double.IsFinite(d) ? d.ToString(format, Inv) : Missing;

    public static string Count(long v) => v.ToString("N0", Inv);

    /// <summary>Teacher examples and tokens: 0 for a method that never asked the teacher is shown as "0", which is the point of PERsD.</summary>
    public static string Tokens(long v) => v >= 10_000 ? (v / 1000.0).ToString("F1", Inv) + "k" : Count(v);

    public static string Usd(double? v) => v is double d && double.IsFinite(d) ? d == 0 ? "$0" : "$" + d.ToString(d < 1 ? "F4" : "F2", Inv) : Missing;

    public static string Params(long v) => v <= 0 ? Missing : v >= 1_000_000 ? (v / 1e6).ToString("F1", Inv) + "M" : (v / 1e3).ToString("F0", Inv) + "k";

    public static string Seconds(double s) => s <= 0 || !double.IsFinite(s) ? Missing
        : s < 120 ? s.ToString("F0", Inv) + " s" : (s / 60).ToString("F1", Inv) + " min";

    /// <summary>The k values any model reports pass@k for, sorted by k ("pass@5" and "5" both name k = 5).</summary>
    public static List<string> PassKKeys(DemoResults r) =>
        [.. r.Models.SelectMany(m => m.PassK?.Keys ?? Enumerable.Empty<string>()).Distinct(StringComparer.Ordinal)
            .OrderBy(K).ThenBy(k => k, StringComparer.Ordinal)];

    public static int K(string key) => int.TryParse(key.StartsWith("pass@", StringComparison.Ordinal) ? key[5..] : key, NumberStyles.Integer, Inv, out var k) ? k : int.MaxValue;

    public static string PassKHeader(string key) => key.StartsWith("pass@", StringComparison.Ordinal) ? key : "pass@" + key;

    /// <summary>"helped", "hurt" or "" from the verdict's first word ("helped by 6.1 points pass@1 [+2.0, +10.3]; …", "hurt by …", "hurt (summaries); …").</summary>
    public static string VerdictKind(string? verdict) =>
        verdict is null ? "" : verdict.StartsWith("helped", StringComparison.OrdinalIgnoreCase) ? "helped"
            : verdict.StartsWith("hurt", StringComparison.OrdinalIgnoreCase) ? "hurt" : "";

    /// <summary>The teacher−student pass@1 gap in points, when both were evaluated.</summary>
    public static double? Gap(DemoResults r)
    {
        var t = r.Models.FirstOrDefault(m => m.Name == "teacher")?.Pass1?.Mean;
        var s = r.Models.FirstOrDefault(m => m.Name == "student")?.Pass1?.Mean;
        return t is double a && s is double b ? 100 * (a - b) : null;
    }
}
