namespace Distill.Report;

/// <summary>report.png beside report.html: the page as Chromium shows it, when Chromium is installed.</summary>
public static class ReportScreenshot
{
    /// <summary>A window tall enough for the whole page at 1280 px wide: header and table, then the charts two by two.</summary>
    public static int Height(DemoResults r, IReadOnlyList<Chart> charts) => 600 + 42 * r.Models.Count + (charts.Count + 1) / 2 * 560;

    /// <summary>Writes <paramref name="png"/> and returns null, or returns why it did not (no browser installed).</summary>
    public static string? TryWrite(DemoResults r, IReadOnlyList<Chart> charts, string html, string png)
    {
        if (HeadlessChromium.Find() is not { } chromium) return "chromium not found (Debian: apt-get install chromium)";
        HeadlessChromium.Screenshot(chromium, html, png, 1280, Height(r, charts));
        return null;
    }
}
