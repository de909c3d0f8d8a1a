using Spectre.Console;
using static Distill.Report.ReportFormat;

namespace Distill.Report;

/// <summary>
/// The demo's final console table, like the papers': every model with pass@1/pass@k, ROUGE, word count, win rates,
/// the teacher examples, tokens and cost it consumed, the share of the teacher−student gap it closed, and its verdict.
/// The same figures, spelled the same way (<see cref="ReportFormat"/>), as the table of report.html.
/// </summary>
public static class DemoTable
{
    public static void Print(DemoResults r) => Print(r, AnsiConsole.Console);

    /// <summary>Plain text (no colour, no ANSI codes) to <paramref name="writer"/>, <paramref name="width"/> columns wide: for logs and tests.</summary>
    public static void Print(DemoResults r, TextWriter writer, int width = 200)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(writer), Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors, Interactive = InteractionSupport.No,
        });
        console.Profile.Width = width;
        Print(r, console);
    }

    public static void Print(DemoResults r, IAnsiConsole console) => console.Write(Build(r));

    public static Table Build(DemoResults r)
    {
        var ks = PassKKeys(r);
        string judge = r.Judge == "rule-based" ? "rule-based judge" : $"judge {r.Judge}";
        var t = new Table().Border(TableBorder.Rounded)
            .Title(Markup.Escape($"distill demo ({r.Preset}, seed {r.Seed}): {r.TestProblems} test problems, {judge}"))
            .Caption(Markup.Escape(Caption(r)));
        t.AddColumn("method");
        t.AddColumn(R("pass@1 %"));
        foreach (var k in ks) t.AddColumn(R(PassKHeader(k) + " %"));
        foreach (var c in new[] { "R-1", "R-2", "R-L", "words", "RM win %", "judge win %", "teacher ex.", "tokens", "cost", "gap closed %" }) t.AddColumn(R(c));
        t.AddColumn("verdict");
        foreach (var m in Ordered(r))
        {
            bool method = !IsReference(m);
            var row = new List<string> { IsReference(m) ? $"[bold]{Markup.Escape(m.Name)}[/]" : Markup.Escape(m.Name), Est(m.Pass1) };
            row.AddRange(ks.Select(k => Est(m.PassK?.GetValueOrDefault(k))));
            row.AddRange([Est(m.Rouge1, ci: false), Est(m.Rouge2, ci: false), Est(m.RougeL, ci: false), Markup.Escape(Number(m.MeanWords)),
                Est(m.RewardWinRate), Est(m.JudgeWinRate)]);
            row.AddRange(method ? [Count(m.TeacherExamples), Tokens(m.TeacherTokens), Markup.Escape(Usd(m.TeacherCostUsd)), Pct(m.GapClosed)] : ["", "", "", ""]);
            row.Add(Verdict(m.Verdict));
            t.AddRow(row.ToArray());
        }
        return t;
    }

    static TableColumn R(string header) => new TableColumn(Markup.Escape(header)).RightAligned();

    /// <summary>"41.2 [35.0, 47.1]" with the interval dimmed.</summary>
    static string Est(Estimate? e, bool ci = true)
    {
        if (e is null) return Missing;
        string interval = Ci(e);
        return ci && interval.Length > 0 ? $"{Pct(e)} [dim]{Markup.Escape(interval)}[/]" : Pct(e);
    }

    static string Verdict(string? v) => VerdictKind(v) switch
    {
        "helped" => $"[green]{Markup.Escape(v!)}[/]",
        "hurt" => $"[red]{Markup.Escape(v!)}[/]",
        _ => Markup.Escape(v ?? ""),
    };

    static string Caption(DemoResults r)
    {
        var parts = new List<string>();
        if (Gap(r) is double g) parts.Add($"teacher − student: {g:F1} pass@1 points");
        parts.Add("rates in %, [95% bootstrap interval over test problems]");
        if (r.WallSeconds > 0) parts.Add($"wall time {Seconds(r.WallSeconds)}");
        return string.Join("; ", parts);
    }
}
