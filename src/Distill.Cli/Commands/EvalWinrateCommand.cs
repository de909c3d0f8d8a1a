using System.CommandLine;
using Distill.Data.Jsonl;
using Distill.Evaluation.Judge;
using Distill.Evaluation.Scoring;

namespace Distill.Cli.Commands;

/// <summary>`distill eval winrate`: win/tie/loss with 95 % CIs from per-pair scores or outcomes.</summary>
sealed class EvalWinrateCommand : IVerb
{
    public string? Group => "eval";

    public Command Build()
    {
        var input = new Option<string>("--input") { Description = "JSONL: {score_a, score_b} (e.g. reward-model scores; higher wins) or {outcome: win|tie|loss|error}", Required = true };
        var output = new Option<string?>("--out") { Description = "Write the JSON result here" };
        var json = new Option<bool>("--json") { Description = "Print the result as JSON" };
        var command = new Command("winrate", "Win rate of A over B with 95% confidence intervals (PLaD: student vs reference, teacher vs student).\n" +
            "Example: distill eval winrate --input reward-scores.jsonl");
        foreach (var o in new Option[] { input, output, json }) command.Options.Add(o);
        command.SetAction(pr =>
        {
            var path = pr.GetValue(input)!;
            var outcomes = new List<PairOutcome>();
            try
            {
                foreach (var r in JsonlReader.Read(path))
                {
                    if (r.Json["outcome"] is { } o)
                        outcomes.Add(o.GetValue<string>() switch
                        {
                            "win" => PairOutcome.Win, "tie" => PairOutcome.Tie, "loss" => PairOutcome.Loss, "error" => PairOutcome.Error,
                            var s => throw new JsonlFormatException(path, r.Line, $"outcome \"{s}\" is not win, tie, loss or error"),
                        });
                    else if (r.Json["score_a"] is { } a && r.Json["score_b"] is { } b)
                        outcomes.Add(PladMetrics.Compare(a.GetValue<double>(), b.GetValue<double>()));
                    else throw new JsonlFormatException(path, r.Line, "needs \"outcome\" or both \"score_a\" and \"score_b\"");
                }
            }
            catch (Exception e) when (e is JsonlFormatException or FileNotFoundException or InvalidOperationException or FormatException)
            { Console.Error.WriteLine($"eval winrate: {e.Message}"); return 2; }
            var summary = WinRateSummary.From(outcomes);
            EvalTables.Emit(summary, path, pr.GetValue(output), pr.GetValue(json), $"A vs B ({path})");
            return 0;
        });
        return command;
    }
}
