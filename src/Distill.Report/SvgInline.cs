using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;

namespace Distill.Report;

/// <summary>
/// Turns a standalone SVG document (ScottPlot's <c>GetSvgXml</c>) into an element that can sit inline in an HTML page
/// beside other charts: without the XML declaration and namespace declarations (the HTML parser puts an inline
/// &lt;svg&gt; in the SVG namespace itself, and the page then names no URL at all), with its ids renamed (Skia
/// numbers clip paths with one counter per process, and "cl_4" may occur in two charts, and a second chart's url(#cl_4) would otherwise clip to
/// the first chart's rectangle), with a viewBox so CSS can scale it, and with the attributes a test finds it by.
/// </summary>
static partial class SvgInline
{
    [GeneratedRegex(@"<\?xml[^>]*\?>\s*")] private static partial Regex XmlDeclaration();
    [GeneratedRegex(@"\s+xmlns(:\w+)?=""[^""]*""")] private static partial Regex Namespace();
    [GeneratedRegex(@"\bid=""([^""]+)""")] private static partial Regex Id();
    [GeneratedRegex(@"url\(#([^)]+)\)")] private static partial Regex UrlRef();
    [GeneratedRegex(@"href=""#([^""]+)""")] private static partial Regex HrefRef();
    [GeneratedRegex(@"<svg\b([^>]*)>")] private static partial Regex Root();
    [GeneratedRegex(@"\bwidth=""([\d.]+)""")] private static partial Regex Width();
    [GeneratedRegex(@"\bheight=""([\d.]+)""")] private static partial Regex Height();

    public static string Inline(string svg, string chartId, int points, string label)
    {
        string s = XmlDeclaration().Replace(svg, "");
        s = Namespace().Replace(s, "");
        // Skia numbers ids with a process-wide counter: renumber them in order of appearance so the page is the same on every render.
        var ids = new Dictionary<string, string>(StringComparer.Ordinal);
        string Rename(string id) => ids.TryGetValue(id, out var n) ? n : ids[id] = $"{chartId}-c{ids.Count}";
        s = Id().Replace(s, m => $"id=\"{Rename(m.Groups[1].Value)}\"");
        s = UrlRef().Replace(s, m => $"url(#{Rename(m.Groups[1].Value)})");
        s = HrefRef().Replace(s, m => $"href=\"#{Rename(m.Groups[1].Value)}\"");
        var root = Root().Match(s);
        if (!root.Success) throw new InvalidOperationException($"chart {chartId}: the plotting library returned no <svg> element");
        string attrs = root.Groups[1].Value;
        string w = Width().Match(attrs) is { Success: true } mw ? mw.Groups[1].Value : "600";
        string h = Height().Match(attrs) is { Success: true } mh ? mh.Groups[1].Value : "400";
        string head = $"<svg id=\"svg-{chartId}\" class=\"chart-svg\" data-chart=\"{chartId}\" data-points=\"{points.ToString(CultureInfo.InvariantCulture)}\" "
            + $"viewBox=\"0 0 {w} {h}\"{attrs} role=\"img\" aria-label=\"{WebUtility.HtmlEncode(label)}\">";
        return s[..root.Index] + head + s[(root.Index + root.Length)..];
    }
}
