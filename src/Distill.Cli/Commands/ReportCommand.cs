using System.CommandLine;
using Distill.Report;
using Spectre.Console;

namespace Distill.Cli.Commands;

/// <summary>
/// `distill report DIR`: renders a finished demo run again from DIR/results.json (nothing is recomputed): writes
/// DIR/report.html, DIR/report.png when Chromium is installed, and prints the final table.
/// </summary>
sealed class ReportCommand : IVerb
{
    public Command Build()
    {
        var dir = new Argument<string>("dir") { Description = "A demo run directory holding results.json (distill demo --out DIR)" };
        var noScreenshot = new Option<bool>("--no-screenshot") { Description = "Do not write report.png (it needs Debian's chromium)" };
        var command = new Command("report", "Render a demo run's report.html (and report.png) from its results.json and print its table.\n"
            + "Example: distill report runs/demo") { dir, noScreenshot };
        command.SetAction(pr =>
        {
            string d = pr.GetValue(dir)!;
            string json = Path.Combine(d, "results.json");
            if (!File.Exists(json))
                throw new BadInputException(Directory.Exists(d) ? $"{json}: not found (`distill demo --out {d}` writes it)" : $"{d}: no such directory");
            DemoResults r;
            // Load names the file and line of malformed JSON (InvalidDataException, which the host does not count as bad input by itself)
            try { r = DemoResults.Load(json); }
            catch (InvalidDataException e) { throw new BadInputException(e.Message); }

            Render(r, d, json, !pr.GetValue(noScreenshot));
            return 0;
        });
        return command;
    }

    /// <summary>report.html, report.png (when Chromium is installed) and the table of a demo's results; `distill demo` ends with it too.</summary>
    internal static void Render(DemoResults r, string d, string json, bool screenshot)
    {
        string html = Path.Combine(d, "report.html");
        IReadOnlyList<Chart> charts;
        try { charts = ReportWriter.Write(r, html); }
        catch (InvalidDataException e) { throw new BadInputException($"{json}: {e.Message}"); }
        if (Console.IsOutputRedirected) DemoTable.Print(r, Console.Out, DemoTable.FullWidth);   // a log file: plain text, every column
        else DemoTable.Print(r, AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Out) }));
        var omitted = charts.Where(c => !c.Drawn).ToList();
        Console.WriteLine($"report   {html} ({charts.Count - omitted.Count} charts"
            + (omitted.Count > 0 ? $"; not drawn, no data: {string.Join(", ", omitted.Select(c => c.Id))})" : ")"));
        if (screenshot)
        {
            string png = Path.Combine(d, "report.png");
            Console.WriteLine(ReportScreenshot.TryWrite(r, charts, html, png) is { } why ? $"png      not written: {why}" : $"png      {png}");
        }
    }
}
