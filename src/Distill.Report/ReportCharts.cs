using ScottPlot;
using ScottPlot.Plottables;
using ScottPlot.TickGenerators;
using static Distill.Report.ReportFormat;

namespace Distill.Report;

/// <summary>
/// The charts of report.html, drawn with ScottPlot 5 into SVG. Each takes what it needs from <see cref="DemoResults"/>
/// and, when the run produced none of it, is omitted with the reason instead of being drawn empty.
/// </summary>
public static class ReportCharts
{
    const int Width = 620, Height = 400;
    /// <summary>A curve is thinned to at most this many points: enough for the eye, and the page stays small.</summary>
    const int MaxCurvePoints = 400;

    /// <summary>The ids of every chart, in page order ("loss-FAMILY" charts for each family that logged a loss curve).</summary>
    public static readonly string[] FixedIds = ["pass1", "win-rates", "reward-margins", "teacher-cost", "plad-fraction"];

    public static List<Chart> All(DemoResults r)
    {
        var charts = new List<Chart> { Pass1(r), WinRates(r), RewardMargins(r), TeacherCost(r), PladFraction(r) };
        charts.AddRange(LossCurves(r));
        return charts;
    }

    // Colours by family, so a method keeps its colour from chart to chart (Tableau 10, readable in print and for most colour-blind readers).
    static readonly Dictionary<string, (string Hex, string Label)> Families = new()
    {
        ["reference"] = ("#7f7f7f", "teacher / student"),
        ["baseline"] = ("#1f77b4", "baselines (SFT, SeqKD)"),
        ["token-kd"] = ("#ff7f0e", "token-level KD"),
        ["preference"] = ("#2ca02c", "preference (DPO-KD, PLaD)"),
        ["persd"] = ("#9467bd", "PERsD"),
    };

    static Color FamilyColor(ModelResult m) => Color.FromHex(FamilyHex(m));

    /// <summary>The colour a model is drawn in: its family's (the teacher darker than the student).</summary>
    public static string FamilyHex(ModelResult m) => m.Name == "teacher" ? "#404040" : Families.TryGetValue(m.Family, out var f) ? f.Hex : "#8c564b";

    /// <summary>How a family is named in the legends ("preference (DPO-KD, PLaD)"), or the family itself.</summary>
    public static string FamilyLabel(string family) => Families.TryGetValue(family, out var f) ? f.Label : family;

    static readonly string[] Palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"];

    /// <summary>
    /// A sans-serif face the machine has. Named, because Skia's own "sans-serif" lookup without fontconfig (the
    /// NoDependencies native asset) answers DejaVu Serif; the page's CSS asks the browser for the same faces.
    /// </summary>
    static readonly string Sans = new[] { "DejaVu Sans", "Liberation Sans", "Arial", "Helvetica" }
        .FirstOrDefault(f => SkiaSharp.SKFontManager.Default.FontFamilies.Contains(f, StringComparer.OrdinalIgnoreCase)) ?? Fonts.Default;

    static Plot NewPlot()
    {
        var plot = new Plot();
        plot.Font.Set(Sans);
        plot.Legend.FontName = Sans;
        plot.Axes.Left.Label.FontSize = 14;
        plot.Axes.Bottom.Label.FontSize = 14;
        plot.Axes.Left.TickLabelStyle.FontSize = 12;
        plot.Axes.Bottom.TickLabelStyle.FontSize = 12;
        plot.Legend.FontSize = 12;
        return plot;
    }

    static Chart Drawn(string id, string title, string caption, Plot plot, int points, int height = Height)
    {
        string svg = plot.GetSvgXml(Width, height);
        plot.Dispose();
        return new Chart(id, title, caption, SvgInline.Inline(svg, id, points, title), points, null);
    }

    static Chart Omit(string id, string title, string caption, string why) => new(id, title, caption, null, 0, why);

    /// <summary>Methods down the left axis, first at the top, with their names as tick labels.</summary>
    static void MethodAxis(Plot plot, IReadOnlyList<string> names, double spacing = 1)
    {
        int n = names.Count;
        plot.Axes.Left.TickGenerator = new NumericManual([.. Enumerable.Range(0, n).Select(i => (n - 1 - i) * spacing)], [.. names]);
        plot.Axes.Left.MajorTickStyle.Length = 0;
        plot.Axes.Left.MinorTickStyle.Length = 0;
        plot.Grid.YAxisStyle.MajorLineStyle.Width = 0;
    }

    /// <summary>A small figure to the right of a bar (beyond its whisker), so the value can be read off the chart.</summary>
    static void ValueLabel(Plot plot, string text, double x, double y)
    {
        var t = plot.Add.Text(text, x, y);
        t.LabelFontSize = 11;
        t.LabelFontName = Sans;
        t.LabelAlignment = Alignment.MiddleLeft;
        t.OffsetX = 4;
        t.LabelFontColor = Color.FromHex("#333333");
    }

    /// <summary>Height for a chart with <paramref name="rows"/> bar rows of <paramref name="rowPixels"/> each.</summary>
    static int RowsHeight(int rows, int rowPixels) => Math.Max(Height, 110 + rows * rowPixels);

    static void FamilyLegend(Plot plot, IEnumerable<ModelResult> shown)
    {
        foreach (var fam in shown.Select(m => m.Family).Distinct().Where(Families.ContainsKey))
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = Families[fam].Label, FillColor = Color.FromHex(Families[fam].Hex) });
    }

    /// <summary>Asymmetric 95% interval whiskers around horizontal bars (bootstrap intervals are not symmetric).</summary>
    static void Whiskers(Plot plot, List<(double Pos, Estimate E)> items)
    {
        var ci = items.Where(t => t.E.Lo is not null && t.E.Hi is not null).ToList();
        if (ci.Count == 0) return;
        var eb = new ErrorBar(
            [.. ci.Select(t => 100 * t.E.Mean)], [.. ci.Select(t => t.Pos)],
            [.. ci.Select(t => 100 * (t.E.Hi!.Value - t.E.Mean))], [.. ci.Select(t => 100 * (t.E.Mean - t.E.Lo!.Value))],
            null!, null!)
        { LineWidth = 1.5f, CapSize = 6, Color = Colors.Black };
        plot.Add.Plottable(eb);
    }

    public static Chart Pass1(DemoResults r)
    {
        const string id = "pass1", title = "pass@1 per method, with 95% intervals";
        string caption = $"Code generation on the test shard ({r.TestProblems} problems), hidden tests run in the sandbox. "
            + "Whiskers: 95% bootstrap interval over test problems. Dashed lines: the teacher and the student before distillation.";
        var models = Ordered(r).Where(m => m.Pass1 is not null).ToList();
        if (models.Count == 0) return Omit(id, title, caption, "no model has a pass@1 (the generation view was not evaluated)");
        var plot = NewPlot();
        int n = models.Count;
        plot.Add.Bars(models.Select((m, i) => new Bar
        {
            Position = n - 1 - i, Value = 100 * m.Pass1!.Mean, FillColor = FamilyColor(m), Size = 0.7, Orientation = Orientation.Horizontal,
        }).ToList());
        Whiskers(plot, [.. models.Select((m, i) => ((double)(n - 1 - i), m.Pass1!))]);
        for (int i = 0; i < n; i++) ValueLabel(plot, Pct(models[i].Pass1), 100 * (models[i].Pass1!.Hi ?? models[i].Pass1!.Mean), n - 1 - i);
        foreach (var (name, pattern) in new[] { ("teacher", LinePattern.Dashed), ("student", LinePattern.Dotted) })
            if (models.FirstOrDefault(m => m.Name == name) is { Pass1: { } e })
            {
                var line = plot.Add.VerticalLine(100 * e.Mean, 1.5f, Color.FromHex(name == "teacher" ? "#404040" : "#7f7f7f"), pattern);
                line.LegendText = $"{name} {Pct(e)}";
            }
        MethodAxis(plot, [.. models.Select(m => m.Name)]);
        FamilyLegend(plot, models);
        plot.XLabel("pass@1 on the test shard (%)");
        plot.Axes.SetLimitsX(0, Math.Min(110, 5 + models.Max(m => 100 * (m.Pass1!.Hi ?? m.Pass1.Mean)) * 1.12));
        plot.ShowLegend(Edge.Bottom);
        return Drawn(id, title, caption, plot, n, RowsHeight(n, 26));
    }

    public static Chart WinRates(DemoResults r)
    {
        const string id = "win-rates", title = "Win rates, with 95% intervals";
        string judge = r.Judge == "rule-based" ? "the rule-based judge (offline demo: agreement with the reference decides [[A]]/[[B]]/[[C]]; not an LLM)" : $"the judge {r.Judge}";
        string caption = "Code summarization on the test shard. Reward model: win rate against the reference summaries under the demo's reward model (PLaD's evaluation). "
            + $"Judge: win rate against the student before distillation under {judge}, both orders (DPO-KD's judge prompt). vs teacher: the same judge against the teacher. 50% = parity.";
        var metrics = new (string Label, string Hex, Func<ModelResult, Estimate?> Get)[]
        {
            ("reward model vs reference", "#1f77b4", m => m.RewardWinRate),
            ("judge vs student", "#ff7f0e", m => m.JudgeWinRate),
            ("judge vs teacher", "#2ca02c", m => m.WinRateVsTeacher),
        };
        var models = Ordered(r).Where(m => metrics.Any(x => x.Get(m) is not null)).ToList();
        metrics = [.. metrics.Where(x => models.Any(m => x.Get(m) is not null))];
        if (models.Count == 0) return Omit(id, title, caption, "no model has a win rate (the summarization view was not evaluated)");
        var plot = NewPlot();
        int n = models.Count, k = metrics.Length, points = 0;
        double spacing = k + 1.2, barSize = 0.9;
        var whiskers = new List<(double, Estimate)>();
        for (int j = 0; j < k; j++)
        {
            var bars = new List<Bar>();
            for (int i = 0; i < n; i++)
                if (metrics[j].Get(models[i]) is { } e)
                {
                    // the group's first metric on top, centred on the method's tick
                    double pos = (n - 1 - i) * spacing + (k - 1) / 2.0 - j;
                    bars.Add(new Bar { Position = pos, Value = 100 * e.Mean, FillColor = Color.FromHex(metrics[j].Hex), Size = barSize, Orientation = Orientation.Horizontal });
                    whiskers.Add((pos, e));
                    points++;
                }
            plot.Add.Bars(bars).LegendText = metrics[j].Label;
        }
        Whiskers(plot, whiskers);
        plot.Add.VerticalLine(50, 1, Colors.Gray, LinePattern.Dashed);
        MethodAxis(plot, [.. models.Select(m => m.Name)], spacing);
        plot.XLabel("win rate (%)");
        plot.Axes.SetLimitsX(0, 100);
        plot.ShowLegend(Edge.Bottom);
        return Drawn(id, title, caption, plot, points, RowsHeight(n, 12 * k + 10));
    }

    public static Chart RewardMargins(DemoResults r)
    {
        const string id = "reward-margins", title = "Reward margins over training, offline vs online DPO-KD";
        const string caption = "Mean implicit reward margin β·(log π/π_ref(chosen) − log π/π_ref(rejected)) per optimizer step, as in the DPO-KD paper's Fig. 4. "
            + "Online DPO-KD regenerates the rejected (student) answers every iteration, so its margin is measured against the current student.";
        var models = Ordered(r).Where(m => m.RewardMargins.Count > 0).ToList();
        if (models.Count == 0) return Omit(id, title, caption, "no preference method logged reward margins");
        var plot = NewPlot();
        int points = 0;
        for (int i = 0; i < models.Count; i++)
        {
            var pts = Thin(models[i].RewardMargins);
            var s = plot.Add.Scatter(pts.Select(p => p.X).ToArray(), pts.Select(p => p.Y).ToArray(), Color.FromHex(MarginColor(models[i], i)));
            s.MarkerSize = 0;
            s.LineWidth = 2;
            if (models[i].Name.Contains("offline", StringComparison.Ordinal)) s.LinePattern = LinePattern.Dashed;
            s.LegendText = models[i].Name;
            points += pts.Count;
        }
        plot.Add.HorizontalLine(0, 1, Colors.Gray, LinePattern.Dotted);
        plot.XLabel("optimizer step");
        plot.YLabel("reward margin (nats, β-scaled)");
        plot.ShowLegend(Alignment.UpperLeft);
        return Drawn(id, title, caption, plot, points);
    }

    static string MarginColor(ModelResult m, int i) => m.Name switch
    {
        "dpo-kd-offline" => "#1f77b4",
        "dpo-kd-online" => "#d62728",
        _ => Palette[(i + 2) % Palette.Length],
    };

    public static Chart TeacherCost(DemoResults r)
    {
        const string id = "teacher-cost", title = "Teacher examples and cost per method";
        var models = Ordered(r).Where(m => !IsReference(m)).ToList();
        bool cost = models.Any(m => m.TeacherCostUsd is > 0);
        string caption = "Bars: teacher answers each method consumed. Labels: examples · teacher tokens · cost in USD (the chat layer's token accounting)"
            + (cost ? "." : "; the demo's teacher is served locally, so its cost is $0.") + " PERsD asks the teacher only about the student's failures.";
        if (models.Count == 0) return Omit(id, title, caption, "the run has no distillation method");
        if (models.All(m => m.TeacherExamples == 0 && m.TeacherTokens == 0 && m.TeacherCostUsd is null or 0))
            return Omit(id, title, caption, "no method recorded teacher examples, tokens or cost");
        var plot = NewPlot();
        int n = models.Count;
        plot.Add.Bars(models.Select((m, i) => new Bar
        {
            Position = n - 1 - i, Value = m.TeacherExamples, FillColor = FamilyColor(m), Size = 0.7, Orientation = Orientation.Horizontal,
        }).ToList());
        for (int i = 0; i < n; i++)
        {
            var m = models[i];
            ValueLabel(plot, $"{Count(m.TeacherExamples)} · {Tokens(m.TeacherTokens)} tok · {Usd(m.TeacherCostUsd)}", m.TeacherExamples, n - 1 - i);
        }
        MethodAxis(plot, [.. models.Select(m => m.Name)]);
        FamilyLegend(plot, models);
        plot.XLabel("teacher examples used");
        // room on the right for the labels
        plot.Axes.SetLimitsX(0, Math.Max(1, models.Max(m => m.TeacherExamples)) * 1.55);
        plot.ShowLegend(Edge.Bottom);
        return Drawn(id, title, caption, plot, n, RowsHeight(n, 28));
    }

    public static Chart PladFraction(DemoResults r)
    {
        const string id = "plad-fraction", title = "PLaD win rate vs fraction of distillation data";
        const string caption = "PLaD trained on a growing share of the distillation shard's pseudo-preference pairs (the PLaD paper's §5 data-size study); "
            + "win rate on the test shard as in the win-rate chart. 50% = parity.";
        if (r.PladFraction.Count == 0) return Omit(id, title, caption, "the run did not sweep PLaD's data fraction");
        var plot = NewPlot();
        var pts = r.PladFraction.OrderBy(p => p.X).ToList();
        var s = plot.Add.Scatter(pts.Select(p => 100 * p.X).ToArray(), pts.Select(p => 100 * p.Y).ToArray(), Color.FromHex("#2ca02c"));
        s.LineWidth = 2;
        s.MarkerSize = 9;
        s.LegendText = "PLaD";
        plot.Add.HorizontalLine(50, 1, Colors.Gray, LinePattern.Dashed);
        plot.XLabel("distillation data used (%)");
        plot.YLabel("win rate (%)");
        plot.Axes.SetLimits(0, 105, Math.Min(40, pts.Min(p => 100 * p.Y) - 5), Math.Max(60, pts.Max(p => 100 * p.Y) + 5));
        plot.ShowLegend(Alignment.LowerRight);
        return Drawn(id, title, caption, plot, pts.Count);
    }

    static readonly (string Family, string Title, string YLabel)[] LossFamilies =
    [
        ("baseline", "Training loss: baselines (SFT, SeqKD)", "cross-entropy (nats/token)"),
        ("token-kd", "Training loss: token-level KD", "KL divergence (nats/token)"),
        ("preference", "Training loss: preference distillation", "preference loss"),
        ("persd", "Training loss: PERsD", "cross-entropy (nats/token)"),
        ("reference", "Training loss: teacher and student from scratch", "cross-entropy (nats/token)"),
    ];

    /// <summary>One chart per family (the families' losses have different units and scales), only for families that logged a curve.</summary>
    public static List<Chart> LossCurves(DemoResults r)
    {
        var charts = new List<Chart>();
        var withCurve = Ordered(r).Where(m => m.LossCurve.Count > 0).ToList();
        if (withCurve.Count == 0)
        {
            charts.Add(Omit("loss", "Training loss", "Loss per optimizer step.", "no model logged a training-loss curve"));
            return charts;
        }
        var families = LossFamilies.Select(f => f.Family).ToHashSet();
        var groups = LossFamilies.Select(f => (f.Family, f.Title, f.YLabel))
            .Concat(withCurve.Select(m => m.Family).Where(f => !families.Contains(f)).Distinct().Select(f => (f, $"Training loss: {f}", "training loss")));
        foreach (var (family, title, yLabel) in groups)
        {
            var models = withCurve.Where(m => m.Family == family).ToList();
            if (models.Count == 0) continue;
            var plot = NewPlot();
            int points = 0;
            for (int i = 0; i < models.Count; i++)
            {
                var pts = Thin(models[i].LossCurve);
                var s = plot.Add.Scatter(pts.Select(p => p.X).ToArray(), pts.Select(p => p.Y).ToArray(), Color.FromHex(Palette[i % Palette.Length]));
                s.MarkerSize = 0;
                s.LineWidth = 2;
                s.LegendText = models[i].Name;
                points += pts.Count;
            }
            plot.XLabel("optimizer step");
            plot.YLabel(yLabel);
            plot.ShowLegend(Alignment.UpperRight);
            charts.Add(Drawn("loss-" + family, title, "Training loss per optimizer step, as the trainer logged it (metrics.jsonl).", plot, points));
        }
        return charts;
    }

    /// <summary>At most <see cref="MaxCurvePoints"/> points, evenly spaced, the first and the last kept.</summary>
    static List<Point> Thin(List<Point> pts)
    {
        var sorted = pts.Where(p => double.IsFinite(p.X) && double.IsFinite(p.Y)).OrderBy(p => p.X).ToList();
        if (sorted.Count <= MaxCurvePoints) return sorted;
        return [.. Enumerable.Range(0, MaxCurvePoints).Select(i => sorted[(int)Math.Round(i * (sorted.Count - 1) / (double)(MaxCurvePoints - 1))])];
    }
}
