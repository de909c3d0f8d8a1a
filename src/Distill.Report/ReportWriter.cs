using System.Globalization;
using System.Net;
using System.Text;
using static Distill.Report.ReportFormat;

namespace Distill.Report;

/// <summary>
/// Writes report.html for a demo run: one self-contained page (inline CSS and SVG, no script, no font or stylesheet
/// fetched, no URL at all) with the method table like the papers' and the charts of <see cref="ReportCharts"/>.
/// Everything comes from <see cref="DemoResults"/>, so a finished run's report can be rendered again at any time.
/// </summary>
public static class ReportWriter
{
    /// <summary>
    /// Writes the page to <paramref name="path"/> (through a temporary file, so a crash never leaves half a report) and returns
    /// its charts, drawn or omitted. Rates outside [0, 1] are refused (<see cref="RateCheck"/>: InvalidDataException naming the model and field).
    /// </summary>
    public static IReadOnlyList<Chart> Write(DemoResults r, string path)
    {
        RateCheck.Validate(r);
        var charts = ReportCharts.All(r);
        string html = Html(r, charts);
        string full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        string tmp = full + ".tmp";
        File.WriteAllText(tmp, html, new UTF8Encoding(false));
        File.Move(tmp, full, overwrite: true);
        return charts;
    }

    static string E(string? s) => WebUtility.HtmlEncode(s ?? "");

    public static string Html(DemoResults r, IReadOnlyList<Chart> charts)
    {
        var h = new StringBuilder();
        h.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        h.Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
        h.Append($"<title>Distill demo ({E(r.Preset)}): report</title>\n<style>\n{Css}</style>\n</head>\n<body>\n");
        Header(h, r);
        Table(h, r);
        h.Append("<section id=\"charts\">\n<h2>Charts</h2>\n<div class=\"grid\">\n");
        foreach (var c in charts) Figure(h, c);
        h.Append("</div>\n</section>\n");
        h.Append("<footer>Intervals: 95% percentile bootstrap over test problems, computed by the run. Rates in percent. "
            + "“–”: not measured for that model. Written by <code>distill demo</code> / <code>distill report</code>; charts drawn with ScottPlot.</footer>\n");
        h.Append("</body>\n</html>\n");
        return h.ToString();
    }

    static void Header(StringBuilder h, DemoResults r)
    {
        h.Append($"<header>\n<h1>Distill demo — preset <em>{E(r.Preset)}</em></h1>\n<dl class=\"meta\">\n");
        void Row(string k, string v) => h.Append($"<dt>{E(k)}</dt><dd>{E(v)}</dd>\n");
        Row("machine", r.Machine);
        if (r.Started != default) Row("started", r.Started.ToUniversalTime().ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture));
        Row("wall time", Seconds(r.WallSeconds));
        Row("seed", r.Seed.ToString(CultureInfo.InvariantCulture));
        Row("test problems", r.TestProblems > 0 ? r.TestProblems.ToString(CultureInfo.InvariantCulture) : Missing);
        Row("judge", r.Judge == "rule-based" ? "rule-based (the offline demo judge: [[A]]/[[B]]/[[C]] from agreement with the reference; not an LLM)" : r.Judge);
        h.Append("</dl>\n");
        var findings = new List<string>();
        if (Gap(r) is double gap) findings.Add($"The teacher beats the student by {gap.ToString("F1", CultureInfo.InvariantCulture)} points pass@1 on the test shard.");
        var helped = r.Models.Where(m => VerdictKind(m.Verdict) == "helped").Select(m => m.Name).ToList();
        var hurt = r.Models.Where(m => VerdictKind(m.Verdict) == "hurt").Select(m => m.Name).ToList();
        var hurtSummaries = r.Models.Where(m => m.Verdict?.Contains("summaries: hurt by", StringComparison.Ordinal) == true).Select(m => m.Name).ToList();
        if (helped.Count > 0) findings.Add($"Helped, by the run's verdicts (paired bootstrap against the student start; table, last column): {string.Join(", ", helped)}.");
        if (hurt.Count > 0) findings.Add($"Hurt: {string.Join(", ", hurt)} (the DPO-KD paper also reports losses on HumanEval for some settings).");
        if (hurtSummaries.Count > 0) findings.Add($"Summaries worse than the student start's (ROUGE-L, interval below 0): {string.Join(", ", hurtSummaries)}.");
        if (helped.Count == 0 && r.Models.Any(m => m.Verdict is not null)) findings.Add("No method raised pass@1 beyond noise.");
        var lines = findings.Concat(r.Notes).ToList();
        if (lines.Count > 0)
        {
            h.Append("<ul class=\"notes\">\n");
            foreach (var l in lines) h.Append($"<li>{E(l)}</li>\n");
            h.Append("</ul>\n");
        }
        h.Append("</header>\n");
    }

    static void Table(StringBuilder h, DemoResults r)
    {
        var ks = PassKKeys(r);
        h.Append("<section id=\"methods\">\n<h2>Methods</h2>\n<div class=\"scroll\">\n<table id=\"method-table\">\n<thead>\n<tr>");
        h.Append("<th rowspan=\"2\" class=\"l\">method</th><th rowspan=\"2\">params<br><small>(trainable)</small></th>");
        h.Append($"<th colspan=\"{1 + ks.Count}\">code generation, %</th><th colspan=\"6\">code summarization, %</th>");
        h.Append("<th colspan=\"3\">teacher used</th><th rowspan=\"2\">gap<br>closed, %</th><th rowspan=\"2\">train<br>time</th><th rowspan=\"2\" class=\"l\">verdict</th></tr>\n<tr>");
        h.Append("<th>pass@1</th>");
        foreach (var k in ks) h.Append($"<th>{E(PassKHeader(k))}</th>");
        h.Append("<th>ROUGE-1</th><th>ROUGE-2</th><th>ROUGE-L</th><th>words</th><th>RM win</th><th>judge win</th>");
        h.Append("<th>examples</th><th>tokens</th><th>cost</th></tr>\n</thead>\n<tbody>\n");
        foreach (var m in Ordered(r))
        {
            string kind = VerdictKind(m.Verdict);
            h.Append($"<tr data-model=\"{E(m.Name)}\"{(IsReference(m) ? " class=\"reference\"" : kind != "" ? $" class=\"{kind}\"" : "")}>");
            h.Append($"<td class=\"l name\" title=\"{E(ReportCharts.FamilyLabel(m.Family))}\"><span class=\"dot\" style=\"background:{ReportCharts.FamilyHex(m)}\"></span>{E(m.Name)}</td>");
            h.Append($"<td>{E(Params(m.Parameters))}{(m.TrainableParameters > 0 && m.TrainableParameters != m.Parameters ? $"<br><small>({E(Params(m.TrainableParameters))})</small>" : "")}</td>");
            Cell(h, m.Pass1);
            foreach (var k in ks) Cell(h, m.PassK?.GetValueOrDefault(k));
            Cell(h, m.Rouge1); Cell(h, m.Rouge2); Cell(h, m.RougeL);
            h.Append($"<td>{E(Number(m.MeanWords))}</td>");
            Cell(h, m.RewardWinRate); Cell(h, m.JudgeWinRate);
            bool method = !IsReference(m);
            h.Append($"<td>{(method ? E(Count(m.TeacherExamples)) : "")}</td><td>{(method ? E(Tokens(m.TeacherTokens)) : "")}</td><td>{(method ? E(Usd(m.TeacherCostUsd)) : "")}</td>");
            h.Append($"<td>{(method ? E(Pct(m.GapClosed)) : "")}</td><td>{E(Seconds(m.TrainSeconds))}</td><td class=\"l verdict\">{E(m.Verdict ?? (method ? Missing : ""))}</td></tr>\n");
        }
        h.Append("</tbody>\n</table>\n</div>\n");
        h.Append("<p class=\"hint\">Dot: the method's family, coloured as in the charts. Small figures: 95% interval. RM win: win rate against the reference summaries under the demo's reward model. "
            + "Judge win: against the student before distillation, both orders. Gap closed: (method − student) / (teacher − student) pass@1.</p>\n</section>\n");
    }

    static void Cell(StringBuilder h, Estimate? e)
    {
        if (e is null) { h.Append($"<td class=\"missing\">{Missing}</td>"); return; }
        string ci = Ci(e);
        h.Append($"<td>{E(Pct(e))}{(ci.Length > 0 ? $"<br><small>{E(ci)}</small>" : "")}</td>");
    }

    static void Figure(StringBuilder h, Chart c)
    {
        if (c.Drawn)
        {
            h.Append($"<figure class=\"chart\" id=\"chart-{E(c.Id)}\" data-chart=\"{E(c.Id)}\" data-points=\"{c.Points}\">\n<h3>{E(c.Title)}</h3>\n");
            h.Append(c.Svg).Append('\n');
            h.Append($"<figcaption>{E(c.Caption)}</figcaption>\n</figure>\n");
        }
        else
        {
            h.Append($"<figure class=\"chart omitted\" id=\"chart-{E(c.Id)}\" data-chart=\"{E(c.Id)}\" data-omitted=\"{E(c.Omitted)}\">\n<h3>{E(c.Title)}</h3>\n");
            h.Append($"<p class=\"omitted-note\">Not drawn: {E(c.Omitted)}.</p>\n<figcaption>{E(c.Caption)}</figcaption>\n</figure>\n");
        }
    }

    const string Css = """
        body { font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif; margin: 24px auto; max-width: 1280px; padding: 0 16px; color: #222; background: #fff; }
        h1 { font-size: 26px; margin: 0 0 8px; } h2 { font-size: 20px; margin: 28px 0 10px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
        h3 { font-size: 15px; margin: 0 0 6px; }
        dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 8px 0; font-size: 14px; }
        dl.meta dt { color: #666; } dl.meta dd { margin: 0; }
        ul.notes { font-size: 14px; background: #f6f8fa; border-left: 4px solid #2ca02c; padding: 8px 8px 8px 28px; }
        .scroll { overflow-x: auto; }
        table { border-collapse: collapse; font-size: 12.5px; width: 100%; }
        th, td { padding: 3px 5px; border-bottom: 1px solid #e4e4e4; text-align: right; vertical-align: top; white-space: nowrap; }
        th { background: #f3f3f3; font-weight: 600; text-align: center; }
        td.l, th.l { text-align: left; } td.verdict { white-space: normal; min-width: 150px; max-width: 230px; }
        span.dot { display: inline-block; width: 9px; height: 9px; border-radius: 50%; margin-right: 6px; }
        th small { font-weight: 400; color: #666; }
        td small { color: #777; font-size: 11px; } td.missing { color: #aaa; text-align: center; }
        td.name { font-weight: 600; }
        tr.reference td { background: #fafafa; color: #444; } tr.helped td.verdict { color: #1a7f37; } tr.hurt td.verdict { color: #c62828; }
        p.hint { font-size: 12px; color: #666; }
        .grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(600px, 1fr)); gap: 20px; }
        figure.chart { margin: 0; border: 1px solid #e4e4e4; border-radius: 6px; padding: 12px; }
        figure.chart svg { width: 100%; height: auto; display: block; }
        figcaption { font-size: 12px; color: #555; margin-top: 6px; }
        p.omitted-note { color: #888; font-style: italic; padding: 24px 0; text-align: center; background: #fafafa; }
        footer { font-size: 12px; color: #777; margin: 28px 0 12px; }

        """;
}
