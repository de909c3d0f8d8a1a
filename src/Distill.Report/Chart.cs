namespace Distill.Report;

/// <summary>
/// One chart of report.html: drawn (<see cref="Svg"/> holds the inline SVG and <see cref="Points"/> the number of data
/// values it plots) or omitted (<see cref="Svg"/> is null and <see cref="Omitted"/> says why: the report never shows an empty chart).
/// </summary>
public sealed record Chart(string Id, string Title, string Caption, string? Svg, int Points, string? Omitted)
{
    public bool Drawn => Svg is not null;
}
