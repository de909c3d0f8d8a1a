namespace Distill.Report.Tests;

/// <summary>A directory per test run under the temp folder, kept after the run so its report.html and report.png can be looked at.</summary>
static class RunDir
{
    public static string Create(string name)
    {
        string dir = Path.Combine(Path.GetTempPath(), "distill-report-tests", $"{DateTime.UtcNow:yyyyMMdd-HHmmss}-{name}-{Guid.NewGuid().ToString("N")[..6]}");
        Directory.CreateDirectory(dir);
        return dir;
    }
}
