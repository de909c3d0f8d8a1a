using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using SkiaSharp;
using Xunit.Abstractions;

namespace Distill.Report.Tests;

/// <summary>
/// report.html as a browser shows it: Debian's chromium, headless, lays the page out; every chart's SVG must be in
/// the rendered DOM with a real size and marks of non-zero size in its plot area, the page must have fetched nothing,
/// and the screenshot (kept in the run directory) must show a page with content. Chromium is required, not optional:
/// .ci/install.sh installs it, and without it this test fails saying so.
/// </summary>
public partial class BrowserRenderTests(ITestOutputHelper output)
{
    // Appended to a copy of the report only (the report itself has no script): measures each chart as laid out.
    const string Probe = """
        <script>
        const charts = [...document.querySelectorAll('svg[data-chart]')].map(s => {
          const r = s.getBoundingClientRect();
          let marks = 0;
          s.querySelectorAll('g[clip-path] path, g[clip-path] ellipse, g[clip-path] rect, g[clip-path] polygon').forEach(e => {
            const b = e.getBBox(); if (b.width > 0 || b.height > 0) marks++; });
          return { id: s.dataset.chart, points: +s.dataset.points, w: r.width, h: r.height, marks, texts: s.querySelectorAll('text').length };
        });
        const pre = document.createElement('pre');
        pre.id = 'probe';
        pre.textContent = JSON.stringify({ charts, resources: performance.getEntriesByType('resource').length,
          tableRows: document.querySelectorAll('#method-table tbody tr').length });
        document.body.appendChild(pre);
        </script>
        """;

    sealed record Measured(string Id, int Points, double W, double H, int Marks, int Texts);
    sealed record ProbeResult(List<Measured> Charts, int Resources, int TableRows);

    [GeneratedRegex(@"<pre id=""probe"">(.*?)</pre>", RegexOptions.Singleline)] private static partial Regex ProbeOut();

    static string Chromium() => HeadlessChromium.Find()
        ?? throw new InvalidOperationException("chromium is not installed: run `bash .ci/install.sh` (it installs Debian's chromium, which renders report.html in this test)");

    [Fact]
    public void ChromiumRendersEveryChartWithDataAndFetchesNothing()
    {
        string chromium = Chromium();
        var r = DemoFixture.Standard();
        string dir = RunDir.Create("browser");
        string html = Path.Combine(dir, "report.html");
        var charts = ReportWriter.Write(r, html);
        string probe = Path.Combine(dir, "report-probe.html");
        File.WriteAllText(probe, File.ReadAllText(html).Replace("</body>", Probe + "</body>", StringComparison.Ordinal));

        string dom = HeadlessChromium.DumpDom(chromium, probe);
        var m = ProbeOut().Match(dom);
        Assert.True(m.Success, "the probe did not run in chromium: " + dom[..Math.Min(dom.Length, 400)]);
        var result = JsonSerializer.Deserialize<ProbeResult>(WebUtility.HtmlDecode(m.Groups[1].Value), new JsonSerializerOptions(JsonSerializerDefaults.Web))!;

        Assert.Equal(0, result.Resources);
        Assert.Equal(r.Models.Count, result.TableRows);
        Assert.Equal(charts.Where(c => c.Drawn).Select(c => c.Id).Order(), result.Charts.Select(c => c.Id).Order());
        Assert.Equal(10, result.Charts.Count);
        foreach (var c in result.Charts)
        {
            output.WriteLine($"{c.Id}: {c.W:F0}x{c.H:F0} px, {c.Marks} marks, {c.Texts} texts, {c.Points} points");
            Assert.True(c.W >= 300 && c.H >= 150, $"{c.Id}: laid out {c.W}x{c.H}");
            Assert.True(c.Marks > 0, $"{c.Id}: no mark of non-zero size in the plot area");
            Assert.True(c.Texts >= 5, $"{c.Id}: {c.Texts} text elements (axis labels and ticks missing)");
            Assert.True(c.Points > 0, $"{c.Id}: no data points");
        }

        string png = Path.Combine(dir, "report.png");
        HeadlessChromium.Screenshot(chromium, html, png, 1280, ReportScreenshot.Height(r, charts));
        output.WriteLine($"screenshot: {png}");
        using var bitmap = SKBitmap.Decode(png) ?? throw new InvalidOperationException($"{png} is not an image");
        Assert.Equal(1280, bitmap.Width);
        // a page with content: a good share of the pixels is not background white, in the top and in the bottom half (the charts)
        Assert.True(Ink(bitmap, 0, bitmap.Height / 2) > 0.03, $"{png}: the upper half is almost blank");
        Assert.True(Ink(bitmap, bitmap.Height / 2, bitmap.Height) > 0.02, $"{png}: the lower half is almost blank");
    }

    /// <summary>Share of sampled pixels in rows [from, to) that are not near-white.</summary>
    static double Ink(SKBitmap b, int from, int to)
    {
        long ink = 0, all = 0;
        for (int y = from; y < to; y += 3)
            for (int x = 0; x < b.Width; x += 3)
            {
                var c = b.GetPixel(x, y);
                all++;
                if (c.Red < 235 || c.Green < 235 || c.Blue < 235) ink++;
            }
        return (double)ink / all;
    }
}
