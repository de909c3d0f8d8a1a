using System.CommandLine;
using System.Text.Json.Nodes;
using Distill.Data.Jsonl;
using Distill.Models.Generation;

namespace Distill.Cli.Commands;

/// <summary>`distill generate`: completions for each JSONL record's prompt (KV-cache decoding).</summary>
sealed class GenerateCommand : IVerb
{
    public Command Build()
    {
        var (model, adapter, input, output) = ModelVerbOptions.Create();
        var maxNew = new Option<int>("--max-new-tokens") { Description = "tokens to generate at most", DefaultValueFactory = _ => 128 };
        var temperature = new Option<float>("--temperature") { Description = "0 = greedy", DefaultValueFactory = _ => 0f };
        var topP = new Option<float>("--top-p") { Description = "nucleus sampling mass (1 = off)", DefaultValueFactory = _ => 1f };
        var topK = new Option<int>("--top-k") { Description = "keep the k most likely tokens (0 = off)", DefaultValueFactory = _ => 0 };
        var penalty = new Option<float>("--repetition-penalty") { Description = "CTRL repetition penalty (1 = off)", DefaultValueFactory = _ => 1f };
        var n = new Option<int>("--n") { Description = "samples per prompt (one output record each, with sample_index)", DefaultValueFactory = _ => 1 };
        var seed = new Option<ulong>("--seed") { Description = "random seed", DefaultValueFactory = _ => 0 };
        var stop = new Option<string[]>("--stop") { Description = "stop string (repeatable); needs a tokenizer" };
        var weights = ModelVerbOptions.Weights();
        var command = new Command("generate", "Generate completions: writes completion and completion_ids for each record's prompt or prompt_ids.\n" +
            "Example: distill generate --model models/tiny --input prompts.jsonl --output gen.jsonl --max-new-tokens 64 --temperature 0.7 --n 4 --seed 1 --weights q8");
        foreach (var o in new Option[] { model, adapter, input, output, maxNew, temperature, topP, topK, penalty, n, seed, stop, weights }) command.Options.Add(o);
        command.SetAction(pr =>
        {
            using var m = ModelVerbOptions.LoadModel(pr.GetValue(model)!, pr.GetValue(adapter), ModelVerbOptions.ParseWeights(pr.GetValue(weights)));
            var tokenizer = ModelVerbOptions.LazyTokenizer(pr.GetValue(model)!);
            Func<int[], string>? decode = tokenizer.Value is { } tok ? ids => tok.Decode(ids, skipSpecialTokens: true) : null;
            var options = new SamplingOptions
            {
                MaxNewTokens = pr.GetValue(maxNew), Temperature = pr.GetValue(temperature), TopP = pr.GetValue(topP), TopK = pr.GetValue(topK),
                RepetitionPenalty = pr.GetValue(penalty), N = pr.GetValue(n), Seed = pr.GetValue(seed),
                StopStrings = pr.GetValue(stop) ?? [], EosTokenIds = m.Config.EosTokenIds,
            };
            options.Validate();
            string inPath = pr.GetValue(input)!;
            using var writer = new JsonlWriter(pr.GetValue(output)!);
            int count = 0;
            // records in chunks decoded together (BatchSampler: each prompt prefilled once, its n samples and the other
            // records' rows in one batch); each record keeps its own seed, so its output does not depend on the others
            foreach (var chunk in JsonlReader.Read(inPath).Chunk(Math.Max(1, BatchSampler.DefaultMaxRows / options.N)))
            {
                var prompts = new List<int[]>();
                foreach (var record in chunk)
                {
                    var prompt = ModelVerbOptions.Ids(record, inPath, "prompt", tokenizer, addSpecialTokens: true);
                    try { BatchSampler.ValidatePrompt(m, prompt); }
                    catch (ArgumentException e) { throw new JsonlFormatException(inPath, record.Line, e.Message); }
                    prompts.Add(prompt);
                }
                var all = BatchSampler.Generate(m, prompts, options, decode, seeds: chunk.Select(r => options.Seed + (ulong)r.Line).ToArray());
                for (int i = 0; i < chunk.Length; i++)
                {
                    var results = all[i];
                    for (int s = 0; s < results.Count; s++)
                    {
                        var json = chunk[i].Json.DeepClone().AsObject();
                        if (results[s].Text is { } text) json["completion"] = text;
                        json["completion_ids"] = new JsonArray(results[s].Ids.Select(i => (JsonNode?)i).ToArray());
                        json["finish_reason"] = results[s].FinishReason;
                        if (options.N > 1) json["sample_index"] = s;
                        writer.Write(json);
                    }
                    count++;
                }
            }
            writer.Commit();
            Console.Error.WriteLine($"distill generate: {count} prompts");
        });
        return command;
    }
}
