using System.Globalization;
using System.Text;

namespace Distill.Report;

/// <summary>The demo's final table as plain text (the report helper replaces it with a Spectre.Console table).</summary>
public static class DemoTable
{
    public static void Print(DemoResults r, TextWriter? output = null) => (output ?? Console.Out).Write(Render(r));

    public static string Render(DemoResults r)
    {
        var inv = CultureInfo.InvariantCulture;
        string Pct(Estimate? e) => e is null ? "-" : e.Lo is { } lo && e.Hi is { } hi
            ? string.Create(inv, $"{100 * e.Mean:0.0} [{100 * lo:0.0},{100 * hi:0.0}]") : string.Create(inv, $"{100 * e.Mean:0.0}");
        var ks = r.Models.SelectMany(m => m.PassK?.Keys ?? Enumerable.Empty<string>()).Distinct().ToList();
        var header = new List<string> { "model", "family", "pass@1" };
        header.AddRange(ks.Select(k => "pass@" + k));
        header.AddRange(["ROUGE-L", "words", "RM win", "judge win", "vs teacher", "gap closed", "teacher ex.", "tokens", "cost $"]);
        var rows = new List<List<string>> { header };
        foreach (var m in r.Models)
        {
            var row = new List<string> { m.Name, m.Family, Pct(m.Pass1) };
            row.AddRange(ks.Select(k => Pct(m.PassK?.GetValueOrDefault(k))));
            row.AddRange([
                Pct(m.RougeL), m.MeanWords?.ToString("0.0", inv) ?? "-", Pct(m.RewardWinRate), Pct(m.JudgeWinRate), Pct(m.WinRateVsTeacher),
                m.GapClosed is { } g ? g.ToString("0.00", inv) : "-", m.TeacherExamples.ToString(inv), m.TeacherTokens.ToString(inv),
                m.TeacherCostUsd is { } c ? c.ToString("0.000000", inv) : "-",
            ]);
            rows.Add(row);
        }
        var widths = Enumerable.Range(0, header.Count).Select(i => rows.Max(x => x[i].Length)).ToArray();
        var sb = new StringBuilder();
        sb.AppendLine(string.Create(inv, $"distill demo — preset {r.Preset}, seed {r.Seed}, {r.TestProblems} test problems, judge: {r.Judge}, wall {r.WallSeconds:0.0} s"));
        sb.AppendLine(r.Machine);
        foreach (var (row, i) in rows.Select((x, i) => (x, i)))
        {
            sb.AppendLine(string.Join("  ", row.Select((cell, j) => j < 2 ? cell.PadRight(widths[j]) : cell.PadLeft(widths[j]))).TrimEnd());
            if (i == 0) sb.AppendLine(string.Join("  ", widths.Select(w => new string('-', w))));
        }
        foreach (var m in r.Models.Where(m => m.Verdict is not null)) sb.AppendLine($"{m.Name}: {m.Verdict}");
        if (r.PladFraction.Count > 0)
            sb.AppendLine("PLaD judge win rate vs distill fraction: " + string.Join(", ", r.PladFraction.Select(p => string.Create(inv, $"{p.X:0.##} → {100 * p.Y:0.0}"))));
        foreach (var n in r.Notes) sb.AppendLine("note: " + n);
        return sb.ToString();
    }
}
