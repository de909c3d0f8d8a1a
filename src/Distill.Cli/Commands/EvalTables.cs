using System.Text.Json.Nodes;
using Distill.Data;
using Distill.Evaluation.Judge;
using Spectre.Console;

namespace Distill.Cli.Commands;

/// <summary>Shared output of `eval judge` and `eval winrate`: JSON and a Spectre table.</summary>
static class EvalTables
{
    public static JsonObject Json(WinRateSummary s)
    {
        static JsonObject I(Interval i) => new() { ["value"] = Num(i.Value), ["low"] = Num(i.Low), ["high"] = Num(i.High) };
        return new JsonObject
        {
            ["wins"] = s.Wins, ["ties"] = s.Ties, ["losses"] = s.Losses, ["errors"] = s.Errors, ["decided"] = s.Decided,
            ["win_rate"] = I(s.WinRate), ["tie_rate"] = I(s.TieRate), ["loss_rate"] = I(s.LossRate), ["adjusted_win_rate"] = I(s.AdjustedWinRate),
            ["interval"] = "95% Wilson score (win/tie/loss rates); 95% percentile bootstrap, 10000 resamples, seed 1234 (adjusted win rate)",
        };
    }

    /// <summary>Writes the JSON result to <paramref name="outPath"/> if given, then prints JSON or a table.</summary>
    public static void Emit(WinRateSummary s, string input, string? outPath, bool json, string title)
    {
        var result = Json(s);
        result["input"] = input;
        if (outPath is not null) AtomicFile.WriteAllText(outPath, result.ToJsonString(new() { WriteIndented = true }));
        if (json) Console.WriteLine(result.ToJsonString());
        else Print(title, s);
    }

    static JsonNode? Num(double v) => double.IsNaN(v) ? null : JsonValue.Create(Math.Round(v, 6));

    public static void Print(string title, WinRateSummary s)
    {
        var t = new Table().Title(Markup.Escape(title)).AddColumn("").AddColumn(new TableColumn("count").RightAligned())
            .AddColumn(new TableColumn("rate").RightAligned()).AddColumn(new TableColumn("95% CI").RightAligned());
        static string P(double v) => double.IsNaN(v) ? "-" : $"{100 * v:F1} %";
        static string C(Interval i) => double.IsNaN(i.Low) ? "-" : Markup.Escape($"[{100 * i.Low:F1}, {100 * i.High:F1}]");
        t.AddRow("win", s.Wins.ToString(), P(s.WinRate.Value), C(s.WinRate));
        t.AddRow("tie", s.Ties.ToString(), P(s.TieRate.Value), C(s.TieRate));
        t.AddRow("loss", s.Losses.ToString(), P(s.LossRate.Value), C(s.LossRate));
        t.AddRow("adjusted win", "", P(s.AdjustedWinRate.Value), C(s.AdjustedWinRate));
        t.AddRow("errors (apart)", s.Errors.ToString(), "", "");
        AnsiConsole.Write(t);
    }
}
