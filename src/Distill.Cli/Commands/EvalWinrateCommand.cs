using System.CommandLine;
using Distill.Data.Jsonl;
using Distill.Evaluation.Judge;
using Distill.Evaluation.Scoring;
using Distill.Methods.Scoring;

namespace Distill.Cli.Commands;

/// <summary>
/// `distill eval winrate`: win/tie/loss with 95 % CIs from per-pair scores or outcomes, or — with --reward-model — from a
/// local reward model's rewards of both answers (PLaD's win rates: a = student, b = reference; or a = teacher, b = student).
/// </summary>
sealed class EvalWinrateCommand : IVerb
{
    public string? Group => "eval";

    public Command Build()
    {
        var input = new Option<string>("--input") { Description = "JSONL: {score_a, score_b} (higher wins) or {outcome: win|tie|loss|error}; with --reward-model: {prompt, a, b}", Required = true };
        var rewardModel = new Option<string?>("--reward-model") { Description = "Reward model folder (num_labels = 1): scores a and b of each {prompt, a, b}" };
        var adapter = new Option<string?>("--adapter") { Description = "PEFT LoRA adapter for the reward model" };
        var scoresOut = new Option<string?>("--scores-out") { Description = "With --reward-model: write {prompt, a, b, score_a, score_b} per pair here (JSONL)" };
        var maxLength = RewardOptions.MaxLength();
        var batchSize = RewardOptions.BatchSize();
        var output = new Option<string?>("--out") { Description = "Write the JSON result here" };
        var json = new Option<bool>("--json") { Description = "Print the result as JSON" };
        var command = new Command("winrate", "Win rate of A over B with 95% confidence intervals (PLaD: student vs reference, teacher vs student).\n" +
            "Example: distill eval winrate --input reward-scores.jsonl   |   distill eval winrate --reward-model models/rm --input pairs.jsonl");
        foreach (var o in new Option[] { input, rewardModel, adapter, scoresOut, maxLength, batchSize, output, json }) command.Options.Add(o);
        command.SetAction(pr =>
        {
            var path = pr.GetValue(input)!;
            var outcomes = new List<PairOutcome>();
            if (pr.GetValue(rewardModel) is { } rmDir)
            {
                {
                    var pairs = JsonlReader.Read(path).Select(r => (r.Json, Prompt: r.RequireString("prompt", path), A: r.RequireString("a", path), B: r.RequireString("b", path))).ToList();
                    using var rm = LocalRewardModel.Load(rmDir, pr.GetValue(adapter), pr.GetValue(maxLength), pr.GetValue(batchSize));
                    // a and b scored in one pass, so equal-length answers share batches
                    var rewards = RewardOptions.Score(rm, [.. pairs.Select(p => (p.Prompt, p.A)), .. pairs.Select(p => (p.Prompt, p.B))]);
                    using var w = pr.GetValue(scoresOut) is { } so ? new JsonlWriter(so) : null;
                    for (int i = 0; i < pairs.Count; i++)
                    {
                        double a = rewards[i], b = rewards[pairs.Count + i];
                        outcomes.Add(PladMetrics.Compare(a, b));
                        if (w is not null)
                        {
                            var rec = pairs[i].Json.DeepClone().AsObject();
                            rec["score_a"] = a; rec["score_b"] = b;
                            w.Write(rec);
                        }
                    }
                    w?.Commit();
                    Console.Error.WriteLine($"eval winrate: {pairs.Count} pairs scored by {rmDir} ({rm.Formatting}; {rm.Truncated} inputs cut to {rm.MaxLength} tokens)");
                }
                EvalTables.Emit(WinRateSummary.From(outcomes), path, pr.GetValue(output), pr.GetValue(json), $"a vs b by reward model {rmDir} ({path})");
                return 0;
            }
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
            var summary = WinRateSummary.From(outcomes);
            EvalTables.Emit(summary, path, pr.GetValue(output), pr.GetValue(json), $"A vs B ({path})");
            return 0;
        });
        return command;
    }
}
