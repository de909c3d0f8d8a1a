using Distill.Methods.Demo;
using Distill.Report;

namespace Distill.Methods.Tests.Demo;

/// <summary>The per-method verdict: helped / hurt / no significant change from paired bootstraps, the gap share, the summaries.</summary>
public sealed class DemoVerdictTests
{
    static List<double> Rep(int n, double v) => [.. Enumerable.Repeat(v, n)];
    static List<double> Mix(int n, int ones) => [.. Enumerable.Range(0, n).Select(i => i < ones ? 1.0 : 0.0)];

    [Fact]
    public void AMethodSolvingMoreProblemsHelped_ClosesItsShareOfTheGap()
    {
        // student solves 0 of 40, teacher 20, the method 10: +25 points, half the gap
        var v = DemoScores.Verdict(Mix(40, 10), Rep(40, 0), Mix(40, 20), Rep(40, 0.5), Rep(40, 0.5), 1000, 1);
        Assert.StartsWith("helped by 25.0 points pass@1 [", v);
        Assert.Contains("gap closed 50% [", v);
        Assert.Contains("summaries: no significant change in ROUGE-L: 0.0 points", v);
        Assert.Equal("helped", ReportFormat.VerdictKind(v));
    }

    [Fact]
    public void ALossIsSaidPlainly_OnCodeAndOnSummaries()
    {
        var hurt = DemoScores.Verdict(Rep(40, 0), Mix(40, 12), Mix(40, 30), Rep(40, 0.5), Rep(40, 0.5), 1000, 1);
        Assert.StartsWith("hurt by 30.0 points pass@1 [-", hurt);
        Assert.Equal("hurt", ReportFormat.VerdictKind(hurt));

        var summaries = DemoScores.Verdict(Rep(40, 0), Rep(40, 0), null, Rep(40, 0.3), Rep(40, 0.5), 1000, 1);
        Assert.StartsWith("hurt (summaries); no significant change in pass@1: 0.0 points", summaries);
        Assert.Contains("summaries: hurt by 20.0 points ROUGE-L", summaries);
        Assert.DoesNotContain("gap closed", summaries); // no teacher, no gap
        Assert.Equal("hurt", ReportFormat.VerdictKind(summaries));
    }
}
