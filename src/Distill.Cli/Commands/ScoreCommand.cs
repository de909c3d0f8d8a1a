using System.CommandLine;
using System.Text.Json.Nodes;
using Distill.Data.Jsonl;
using Distill.Models;
using Distill.Models.Formats;
using Distill.Models.Generation;
using Distill.Models.Lora;

namespace Distill.Cli.Commands;

/// <summary>`distill score`: ln p(completion | prompt) for each JSONL record (natural log, completion tokens only).</summary>
sealed class ScoreCommand : IVerb
{
    public Command Build()
    {
        var (model, adapter, input, output) = ModelVerbOptions.Create();
        var perToken = new Option<bool>("--per-token") { Description = "also write token_logprobs" };
        var command = new Command("score", "Score completions: adds logprob_sum, logprob_mean and n_tokens to each record.\n" +
            "Records hold prompt/completion (text) or prompt_ids/completion_ids (used exactly as given).\n" +
            "Example: distill score --model models/tiny --input pairs.jsonl --output scored.jsonl --per-token");
        foreach (var o in new Option[] { model, adapter, input, output, perToken }) command.Options.Add(o);
        command.SetAction(pr =>
        {
            using var m = ModelVerbOptions.LoadModel(pr.GetValue(model)!, pr.GetValue(adapter));
            var tokenizer = ModelVerbOptions.LazyTokenizer(pr.GetValue(model)!);
            string inPath = pr.GetValue(input)!;
            using var writer = new JsonlWriter(pr.GetValue(output)!);
            int count = 0;
            foreach (var record in JsonlReader.Read(inPath))
            {
                var prompt = ModelVerbOptions.Ids(record, inPath, "prompt", tokenizer, addSpecialTokens: true);
                var completion = ModelVerbOptions.Ids(record, inPath, "completion", tokenizer, addSpecialTokens: false);
                double[] lp;
                try { lp = Scoring.CompletionLogProbs(m, prompt, completion); }
                catch (ArgumentException e) { throw new JsonlFormatException(inPath, record.Line, e.Message); }
                var json = record.Json.DeepClone().AsObject();
                json["logprob_sum"] = lp.Sum();
                json["logprob_mean"] = lp.Length == 0 ? 0 : lp.Average();
                json["n_tokens"] = lp.Length;
                if (pr.GetValue(perToken)) json["token_logprobs"] = new JsonArray(lp.Select(x => (JsonNode?)x).ToArray());
                writer.Write(json);
                count++;
            }
            writer.Commit();
            Console.Error.WriteLine($"distill score: {count} records");
        });
        return command;
    }
}

