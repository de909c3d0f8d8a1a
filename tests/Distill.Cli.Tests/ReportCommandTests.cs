using Distill.Cli.Commands;
using Distill.Report;

namespace Distill.Cli.Tests;

/// <summary>`distill report DIR`: a finished run's results.json becomes report.html, report.png and the table; bad input names the file and line.</summary>
[Collection("console")]
public class ReportCommandTests
{
    static DemoResults Small()
    {
        static Estimate E(double m) => new(m, m - 0.05, m + 0.05, 40);
        List<Point> Curve(double a) => [.. Enumerable.Range(1, 30).Select(s => new Point(s, a / s + 0.5))];
        return new DemoResults
        {
            Preset = "quick", Seed = 3, Machine = "test machine", TestProblems = 40, WallSeconds = 150,
            Models =
            [
                new ModelResult { Name = "teacher", Family = "reference", Pass1 = E(0.5), LossCurve = Curve(3) },
                new ModelResult { Name = "student", Family = "reference", Pass1 = E(0.2), LossCurve = Curve(4) },
                new ModelResult { Name = "seqkd", Family = "baseline", Pass1 = E(0.3), TeacherExamples = 200, TeacherTokens = 9000, GapClosed = 1 / 3.0,
                    LossCurve = Curve(2), Verdict = "helped +10.0 pass@1 (CI 2.0..18.0)" },
                new ModelResult { Name = "dpo-kd-offline", Family = "preference", Pass1 = E(0.25), TeacherExamples = 200, TeacherTokens = 9000,
                    RewardMargins = Curve(-1), LossCurve = Curve(0.7) },
            ],
        };
    }

    [Fact]
    public void RendersTheReportTheScreenshotAndTheTable()
    {
        Assert.True(HeadlessChromium.Find() is not null, "chromium is not installed: run `bash .ci/install.sh` (report.png is drawn by Debian's chromium)");
        var dir = Directory.CreateTempSubdirectory("distill-report-cli-").FullName;
        File.WriteAllText(Path.Combine(dir, "results.json"), Small().ToJson());
        var (exit, stdout, err) = CliHarness.Run(new ReportCommand().Build(), dir);
        Assert.True(exit == 0, err);
        string html = File.ReadAllText(Path.Combine(dir, "report.html"));
        Assert.Contains("data-chart=\"pass1\"", html);
        Assert.Contains("data-model=\"dpo-kd-offline\"", html);
        Assert.True(new FileInfo(Path.Combine(dir, "report.png")).Length > 10_000, "report.png missing or empty");
        Assert.Contains("seqkd", stdout);
        Assert.Contains("helped +10.0", stdout);                           // a log gets the full-width table, in plain text
        Assert.DoesNotContain("\u001b[", stdout);
        Assert.Contains("not drawn, no data: win-rates, plad-fraction", stdout);
        Assert.Contains($"png      {Path.Combine(dir, "report.png")}", stdout);
    }

    [Fact]
    public void MalformedResultsJsonIsOneLineNamingFileAndLine()
    {
        var dir = Directory.CreateTempSubdirectory("distill-report-cli-").FullName;
        string json = Path.Combine(dir, "results.json");
        File.WriteAllText(json, "{\n  \"preset\": \"quick\",\n  \"machine\": \"m\",\n  \"models\": [ {\"name\": \"teacher\",, } ]\n}\n");
        var (exit, _, err) = CliHarness.Run(new ReportCommand().Build(), dir);
        Assert.Equal(2, exit);
        Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("distill report: " + json + ": line 4:", err);
        Assert.False(File.Exists(Path.Combine(dir, "report.html")));
    }

    [Fact]
    public void ADirectoryWithoutResultsSaysWhatWritesThem()
    {
        var dir = Directory.CreateTempSubdirectory("distill-report-cli-").FullName;
        var (exit, _, err) = CliHarness.Run(new ReportCommand().Build(), dir, "--no-screenshot");
        Assert.Equal(2, exit);
        Assert.Contains(Path.Combine(dir, "results.json") + ": not found (`distill demo --out", err);
    }
}
