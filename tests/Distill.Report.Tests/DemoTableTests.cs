namespace Distill.Report.Tests;

/// <summary>The final console table: every model, its figures spelled as in report.html, "–" where a figure is missing.</summary>
public class DemoTableTests
{
    static string Print(DemoResults r)
    {
        var w = new StringWriter();
        DemoTable.Print(r, w, width: 240);
        return w.ToString();
    }

    static string Line(string table, string model) =>
        table.Split('\n').Single(l => l.Split('│', StringSplitOptions.TrimEntries).ElementAtOrDefault(1) == model);

    [Fact]
    public void ListsEveryModelWithItsFigures()
    {
        var r = DemoFixture.Standard();
        string t = Print(r);
        Assert.DoesNotContain("\u001b[", t);                             // plain text for a TextWriter
        foreach (var m in r.Models) Assert.Contains(m.Name, t);
        Assert.Contains("distill demo (standard, seed 1234): 120 test problems, rule-based judge", t);
        Assert.Contains("teacher − student: 22.9 pass@1 points", t);
        var plad = Line(t, "plad-rank");
        Assert.Contains("36.6", plad);                                    // pass@1
        Assert.Contains("[30.1, 43.8]", plad);                            // its interval
        Assert.Contains("2,000", plad);                                   // teacher examples
        Assert.Contains("58.1", plad);                                    // gap closed (0.366 − 0.233) / (0.462 − 0.233)
        Assert.Contains("helped +13.3", plad);
        Assert.Contains("611", Line(t, "persd-refine"));
        Assert.Contains("pass@5", t);
    }

    [Fact]
    public void AMissingFigureIsADash()
    {
        var full = DemoFixture.Standard();
        var r = full with { Models = [.. full.Models.Select(m => m.Name == "kd-rkl" ? m with { Pass1 = null, RewardWinRate = null } : m)] };
        var cells = Line(Print(r), "kd-rkl").Split('│', StringSplitOptions.TrimEntries);
        Assert.Equal("–", cells[2]);                                      // pass@1
        Assert.Contains("–", cells[8]);                                   // RM win
    }

    [Fact]
    public void FitsA120ColumnTerminal()
    {
        var w = new StringWriter();
        DemoTable.Print(DemoFixture.Standard(), w, width: 120);
        var lines = w.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r')).ToList();
        Assert.All(lines, l => Assert.True(l.Length <= 120, $"{l.Length} columns: {l}"));
        Assert.Contains(lines, l => l.Contains("│ plad-rank ", StringComparison.Ordinal));   // names are never broken
        Assert.Contains(lines, l => l.Contains("[30.1,43.8]", StringComparison.Ordinal));   // pass@1 keeps its interval
        Assert.Contains("every column and interval: report.html", w.ToString());
    }
}
