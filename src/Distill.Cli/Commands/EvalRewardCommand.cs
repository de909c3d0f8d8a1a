using System.CommandLine;
using System.Text.Json.Nodes;
using Distill.Data.Jsonl;
using Distill.Methods.Scoring;
using Distill.Models;
using Spectre.Console;

namespace Distill.Cli.Commands;

/// <summary>`distill eval reward`: a local reward model's scalar reward for each {prompt, response} record.</summary>
sealed class EvalRewardCommand : IVerb
{
    public string? Group => "eval";

    public Command Build()
    {
        var model = new Option<string>("--model") { Description = "Reward model folder: *ForSequenceClassification with num_labels = 1, and its tokenizer", Required = true };
        var adapter = new Option<string?>("--adapter") { Description = "PEFT LoRA adapter folder for the reward model" };
        var input = new Option<string>("--input") { Description = "JSONL: {prompt, response} (or {prompt, completion})", Required = true };
        var output = new Option<string>("--output") { Description = "output JSONL: each record with \"reward\" added (- for stdout)", DefaultValueFactory = _ => "-" };
        var maxLength = RewardOptions.MaxLength();
        var batchSize = RewardOptions.BatchSize();
        var weights = ModelVerbOptions.Weights();
        var command = new Command("reward", "Score responses with a local reward model (LlamaForSequenceClassification, num_labels = 1).\n" +
            "Example: distill eval reward --model models/rm --input answers.jsonl --output rewarded.jsonl");
        foreach (var o in new Option[] { model, adapter, input, output, maxLength, batchSize, weights }) command.Options.Add(o);
        command.SetAction(pr =>
        {
            var w = ModelVerbOptions.ParseWeights(pr.GetValue(weights));
            string path = pr.GetValue(input)!;
            var records = JsonlReader.Read(path).ToList();
            var items = records.Select(r => (r.RequireString("prompt", path), RewardOptions.Response(r, path))).ToList();
            using var rm = LocalRewardModel.Load(pr.GetValue(model)!, pr.GetValue(adapter), pr.GetValue(maxLength), pr.GetValue(batchSize), w);
            var rewards = RewardOptions.Score(rm, items);
            using (var writer = new JsonlWriter(pr.GetValue(output)!))
            {
                for (int i = 0; i < records.Count; i++)
                {
                    var json = records[i].Json.DeepClone().AsObject();
                    json["reward"] = rewards[i];
                    writer.Write(json);
                }
                writer.Commit();
            }
            if (rewards.Length > 0)
            {
                double mean = rewards.Average(), sd = Math.Sqrt(rewards.Sum(x => (x - mean) * (x - mean)) / Math.Max(1, rewards.Length - 1));
                Console.Error.WriteLine($"distill eval reward: {rewards.Length} records, reward mean {mean:F4} (sd {sd:F4}, min {rewards.Min():F4}, max {rewards.Max():F4}); " +
                    $"inputs by {rm.Formatting}; {rm.Truncated} cut to the last {rm.MaxLength} tokens; weights {w.Name()}");
            }
            else Console.Error.WriteLine("distill eval reward: no records");
        });
        return command;
    }
}

/// <summary>What `eval reward` and `eval winrate --reward-model` share.</summary>
static class RewardOptions
{
    public static Option<int> MaxLength() => new("--max-length") { Description = "Tokens per input; longer inputs keep their last N (where the reward is read)", DefaultValueFactory = _ => 2048 };
    public static Option<int> BatchSize() => new("--batch-size") { Description = "Sequences per forward (needs pad_token_id in config.json; else 1)", DefaultValueFactory = _ => 8 };

    public static string Response(JsonlReader.Record r, string path) =>
        r.Json.ContainsKey("response") ? r.RequireString("response", path)
        : r.Json.ContainsKey("completion") ? r.RequireString("completion", path)
        : throw new JsonlFormatException(path, r.Line, "needs \"response\" (or \"completion\")");

    /// <summary>Rewards with a progress bar on stderr, in chunks so the bar moves.</summary>
    public static double[] Score(LocalRewardModel rm, IReadOnlyList<(string Prompt, string Response)> items)
    {
        var rewards = new double[items.Count];
        const int chunk = 64;
        void Run(Action<int>? advance)
        {
            for (int start = 0; start < items.Count; start += chunk)
            {
                int n = Math.Min(chunk, items.Count - start);
                rm.Rewards(items.Skip(start).Take(n).ToList()).CopyTo(rewards, start);
                advance?.Invoke(n);
            }
        }
        if (Console.IsErrorRedirected || items.Count <= chunk) { Run(null); return rewards; }
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        console.Progress().Start(ctx =>
        {
            var task = ctx.AddTask("reward", maxValue: items.Count);
            Run(n => task.Increment(n));
        });
        return rewards;
    }
}
