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

    /// <summary>The table as plain text, every column.</summary>
    public static string Render(DemoResults r)
    {
        var w = new StringWriter();
        Print(r, w, FullWidth + 10);
        return w.ToString();
    }

    public static void Print(DemoResults r, IAnsiConsole console) => console.Write(Build(r, console.Profile.Width));

    /// <summary>Below this width the table leaves out ROUGE-1/2, tokens, cost and the win-rate intervals (report.html has them all).</summary>
    public const int FullWidth = 190;

    public static Table Build(DemoResults r, int width = FullWidth)
    {
        bool full = width >= FullWidth;
        var ks = PassKKeys(r);
        string judge = r.Judge == "rule-based" ? "rule-based judge" : $"judge {r.Judge}";
        var t = new Table().Border(TableBorder.Rounded)
            .Title(Markup.Escape($"distill demo ({r.Preset}, seed {r.Seed}): {r.TestProblems} test problems, {judge}"))
            .Caption(Markup.Escape(Caption(r, full)));
        var cols = new List<(string Header, Func<ModelResult, string> Cell)>
        {
            ("pass@1", m => Est(m.Pass1, full ? Interval.Inline : Interval.Below)),
        };
        cols.AddRange(ks.Select(k => (PassKHeader(k), (Func<ModelResult, string>)(m => Est(m.PassK?.GetValueOrDefault(k), full ? Interval.Inline : Interval.None)))));
        if (full) cols.AddRange([("R-1", m => Est(m.Rouge1, Interval.None)), ("R-2", m => Est(m.Rouge2, Interval.None))]);
        cols.AddRange([
            ("R-L", m => Est(m.RougeL, Interval.None)),
            ("words", m => Markup.Escape(Number(m.MeanWords))),
            ("RM win", m => Est(m.RewardWinRate, full ? Interval.Inline : Interval.None)),
            ("judge win", m => Est(m.JudgeWinRate, full ? Interval.Inline : Interval.None)),
            ("teacher ex.", m => IsReference(m) ? "" : Count(m.TeacherExamples)),
        ]);
        if (full) cols.AddRange([("tokens", m => IsReference(m) ? "" : Tokens(m.TeacherTokens)), ("cost", m => IsReference(m) ? "" : Markup.Escape(Usd(m.TeacherCostUsd)))]);
        cols.Add(("gap closed", m => IsReference(m) ? "" : Pct(m.GapClosed)));

        t.AddColumn(new TableColumn("method").NoWrap());
        foreach (var c in cols) t.AddColumn(new TableColumn(Markup.Escape(c.Header)).RightAligned());
        t.AddColumn("verdict");
        foreach (var m in Ordered(r))
            t.AddRow([IsReference(m) ? $"[bold]{Markup.Escape(m.Name)}[/]" : Markup.Escape(m.Name), .. cols.Select(c => c.Cell(m)), Verdict(m.Verdict)]);
        return t;
    }

    enum Interval { None, Inline, Below }

    /// <summary>"41.2 [35.0, 47.1]" (inline), "41.2" over the interval (below), or "41.2"; the interval dimmed.</summary>
    static string Est(Estimate? e, Interval interval)
    {
        if (e is null) return Missing;
        string ci = Ci(e);
        if (interval == Interval.None || ci.Length == 0) return Pct(e);
        // below: "[35.0,47.1]" without a space, so a narrow column never breaks the interval
        return interval == Interval.Inline ? $"{Pct(e)} [dim]{Markup.Escape(ci)}[/]" : $"{Pct(e)}\n[dim]{Markup.Escape(ci.Replace(", ", ",", StringComparison.Ordinal))}[/]";
    }

    static string Verdict(string? v) => VerdictKind(v) switch
    {
        "helped" => $"[green]{Markup.Escape(v!)}[/]",
        "hurt" => $"[red]{Markup.Escape(v!)}[/]",
        _ => Markup.Escape(v ?? ""),
    };

    static string Caption(DemoResults r, bool full)
    {
        var parts = new List<string>();
        if (Gap(r) is double g) parts.Add($"teacher − student: {g:F1} pass@1 points");
        parts.Add("rates in %, [95% bootstrap interval over test problems]");
        if (r.WallSeconds > 0) parts.Add($"wall time {Seconds(r.WallSeconds)}");
        if (!full) parts.Add("every column and interval: report.html");
        return string.Join("; ", parts);
    }
}
