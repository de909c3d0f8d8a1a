using System.Text.RegularExpressions;

namespace Distill.Report.Tests;

/// <summary>report.html as text: every chart drawn with data, the table complete, nothing fetched, missing data said so.</summary>
public partial class ReportStructureTests
{
    static readonly string[] AllCharts = [.. ReportCharts.FixedIds, "loss-reference", "loss-baseline", "loss-token-kd", "loss-preference", "loss-persd"];

    [GeneratedRegex(@"<svg\b[^>]*\bdata-chart=""([^""]+)""[^>]*\bdata-points=""(\d+)""[^>]*>(.*?)</svg>", RegexOptions.Singleline)]
    private static partial Regex Svg();
    [GeneratedRegex(@"\bid=""([^""]+)""")] private static partial Regex Id();
    [GeneratedRegex(@"<path\b[^>]*\bd=""([^""]+)""")] private static partial Regex PathD();

    static (string Html, IReadOnlyList<Chart> Charts) Render(DemoResults r)
    {
        string path = Path.Combine(RunDir.Create("structure"), "report.html");
        var charts = ReportWriter.Write(r, path);
        return (File.ReadAllText(path), charts);
    }

    [Fact]
    public void EveryChartIsDrawnWithItsData()
    {
        var (html, charts) = Render(DemoFixture.Standard());
        Assert.Equal(AllCharts.Order(), charts.Select(c => c.Id).Order());
        Assert.All(charts, c => Assert.True(c.Drawn, $"{c.Id} omitted: {c.Omitted}"));
        var svgs = Svg().Matches(html).ToDictionary(m => m.Groups[1].Value, m => (Points: int.Parse(m.Groups[2].Value), Body: m.Groups[3].Value));
        Assert.Equal(AllCharts.Order(), svgs.Keys.Order());
        foreach (var (id, (points, body)) in svgs)
        {
            Assert.True(points > 0, $"{id}: data-points {points}");
            // the data sit in the plot area's clip group (the axes and grid are outside it)
            int clip = body.IndexOf("clip-path=\"url(#" + id + "-", StringComparison.Ordinal);
            Assert.True(clip > 0, $"{id}: no clipped data group");
            var marks = PathD().Matches(body[clip..]).Count + Regex.Matches(body[clip..], "<(ellipse|rect|polygon)\\b").Count;
            Assert.True(marks > 0, $"{id}: nothing drawn in the plot area");
            Assert.Contains("<text", body);
        }
        // the curves carry their points: the 300-step teacher loss curve is one path of ~300 segments
        var teacherLoss = svgs["loss-reference"].Body;
        Assert.Contains(PathD().Matches(teacherLoss).Select(m => m.Groups[1].Value.Count(c => c == 'L')), n => n >= 250);
        Assert.Equal(DemoFixture.Standard().PladFraction.Count, svgs["plad-fraction"].Points);
    }

    [Fact]
    public void NamesNoUrlAndFetchesNothing()
    {
        var (html, _) = Render(DemoFixture.Standard());
        Assert.DoesNotContain("http://", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("https://", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<link", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<img", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("@import", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotMatch(@"\bsrc=", html);
        Assert.DoesNotMatch(@"url\((?!#)", html);                       // only references to the page's own clip paths
        Assert.DoesNotMatch(@"href=""(?!#)", html);
        // ids are unique across the page: ScottPlot numbers clip paths per chart, the writer prefixes them
        var ids = Id().Matches(html).Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.StartsWith("<!DOCTYPE html>", html);
    }

    [Fact]
    public void TableHasEveryModelAndTheirFigures()
    {
        var r = DemoFixture.Standard();
        var (html, _) = Render(r);
        foreach (var m in r.Models) Assert.Contains($"data-model=\"{m.Name}\"", html);
        var teacherRow = Row(html, "teacher");
        Assert.Contains("46.2", teacherRow);
        Assert.Contains("[39.1, 54.0]", teacherRow);                    // 0.462 − 0.071, 0.462 + 0.0781
        Assert.Contains("tr data-model=\"plad-rank\" class=\"helped\"", html);
        Assert.Contains("tr data-model=\"dpo-kd-online\" class=\"hurt\"", html);
        Assert.Contains(">2,000<", Row(html, "seqkd"));
        Assert.Contains(">611<", Row(html, "persd-refine"));
        Assert.Contains("pass@5", html);
        Assert.Contains("The teacher beats the student by 22.9 points pass@1", html);
        Assert.Contains("rule-based", html);
        // the table lists teacher, student, then the methods in the run's order
        var order = Regex.Matches(html, "<tr data-model=\"([^\"]+)\"").Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(["teacher", "student", .. DemoFixture.Methods], order);
    }

    static string Row(string html, string model)
    {
        int i = html.IndexOf($"<tr data-model=\"{model}\"", StringComparison.Ordinal);
        Assert.True(i >= 0, $"no row for {model}");
        return html[i..html.IndexOf("</tr>", i, StringComparison.Ordinal)];
    }

    [Fact]
    public void MissingFiguresAreDashesAndChartsWithoutDataAreOmittedWithANote()
    {
        var full = DemoFixture.Standard();
        var models = full.Models.Select(m => m.Name == "kd-rkl" ? m with { Pass1 = null, PassK = null, Rouge1 = null, Verdict = null } : m with { RewardMargins = [] }).ToList();
        var r = full with { Models = models, PladFraction = [] };
        var (html, charts) = Render(r);
        Assert.Contains("<td class=\"missing\">–</td>", Row(html, "kd-rkl"));
        foreach (var id in new[] { "reward-margins", "plad-fraction" })
        {
            var c = Assert.Single(charts, c => c.Id == id);
            Assert.False(c.Drawn);
            Assert.DoesNotContain($"data-chart=\"{id}\" data-points", html);
            Assert.Matches($"<figure class=\"chart omitted\" id=\"chart-{id}\" data-chart=\"{id}\" data-omitted=\"[^\"]+\">", html);
        }
        Assert.Contains("Not drawn: the run did not sweep PLaD", html);
        Assert.True(Assert.Single(charts, c => c.Id == "pass1").Points == full.Models.Count - 1, "kd-rkl has no pass@1 bar");
    }

    [Fact]
    public void AnApiTeachersCostIsLabelledInTheChartAndTable()
    {
        var full = DemoFixture.Standard();
        var r = full with { Models = [.. full.Models.Select(m => m.Name == "plad-rank" ? m with { TeacherCostUsd = 0.41 } : m)] };
        var (html, charts) = Render(r);
        var cost = Assert.Single(charts, c => c.Id == "teacher-cost");
        Assert.Contains("$0.4100", cost.Svg);
        Assert.DoesNotContain("served locally", cost.Caption);
        Assert.Contains(">$0.4100<", Row(html, "plad-rank"));
    }

    [Fact]
    public void ARateInPercentIsRefusedNamingModelAndField()
    {
        var full = DemoFixture.Standard();
        var r = full with { Models = [.. full.Models.Select(m => m.Name == "seqkd" ? m with { JudgeWinRate = new Estimate(58.6, 50.6, 67.4) } : m)] };
        string path = Path.Combine(RunDir.Create("percent"), "report.html");
        var e = Assert.Throws<InvalidDataException>(() => ReportWriter.Write(r, path));
        Assert.Equal("model 'seqkd', judge_win_rate: mean 58.6 is outside [0, 1] (rates are fractions, not percent)", e.Message);
        Assert.False(File.Exists(path));
        var upsideDown = full with { Models = [.. full.Models.Select(m => m.Name == "sft" ? m with { Pass1 = new Estimate(0.3, 0.4, 0.5) } : m)] };
        Assert.Contains("model 'sft', pass1: lo 0.4", Assert.Throws<InvalidDataException>(() => ReportWriter.Write(upsideDown, path)).Message);
    }

    [Fact]
    public void AnEmptyRunDrawsNoChartAtAll()
    {
        var r = new DemoResults { Preset = "quick", Machine = "test", Models = [new ModelResult { Name = "teacher", Family = "reference" }] };
        var (html, charts) = Render(r);
        Assert.All(charts, c => Assert.False(c.Drawn, c.Id));
        Assert.DoesNotContain("<svg", html);
        Assert.Equal(charts.Count, Regex.Matches(html, "class=\"chart omitted\"").Count);
        Assert.Contains("data-model=\"teacher\"", html);
    }

    [Fact]
    public void RenderingIsDeterministicAndSurvivesResultsJson()
    {
        var r = DemoFixture.Standard();
        string dir = RunDir.Create("roundtrip");
        string json = Path.Combine(dir, "results.json");
        File.WriteAllText(json, r.ToJson());
        var back = DemoResults.Load(json);
        Assert.Equal(ReportWriter.Html(r, ReportCharts.All(r)), ReportWriter.Html(back, ReportCharts.All(back)));
    }

    [Fact]
    public void MalformedResultsJsonNamesTheFileAndLine()
    {
        string json = Path.Combine(RunDir.Create("malformed"), "results.json");
        File.WriteAllText(json, "{\n  \"preset\": \"quick\",\n  \"machine\": \"x\",\n  \"models\": [ { \"name\": \"teacher\", \"family\": 3 } ]\n}\n");
        var e = Assert.Throws<InvalidDataException>(() => DemoResults.Load(json));
        Assert.Contains(json, e.Message);
        Assert.Contains("line 4", e.Message);
    }
}
