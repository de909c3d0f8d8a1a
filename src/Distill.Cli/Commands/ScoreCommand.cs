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
        command.SetAction(pr => ModelVerbOptions.Run("score", () =>
        {
            using var m = ModelVerbOptions.LoadModel(pr.GetValue(model)!, pr.GetValue(adapter));
            string inPath = pr.GetValue(input)!;
            using var writer = new JsonlWriter(pr.GetValue(output)!);
            int count = 0;
            foreach (var record in JsonlReader.Read(inPath))
            {
                var prompt = ModelVerbOptions.Ids(record, inPath, "prompt");
                var completion = ModelVerbOptions.Ids(record, inPath, "completion");
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
        }));
        return command;
    }
}

/// <summary>Options and helpers shared by the model verbs (score, generate).</summary>
static class ModelVerbOptions
{
    public static (Option<string> Model, Option<string?> Adapter, Option<string> Input, Option<string> Output) Create() => (
        new Option<string>("--model") { Description = "Hugging Face model folder (config.json + *.safetensors)", Required = true },
        new Option<string?>("--adapter") { Description = "PEFT LoRA adapter folder (adapter_config.json + adapter_model.safetensors)" },
        new Option<string>("--input") { Description = "input JSONL", Required = true },
        new Option<string>("--output") { Description = "output JSONL (- for stdout)", DefaultValueFactory = _ => "-" });

    public static CausalLM LoadModel(string dir, string? adapter)
    {
        var model = ModelIO.Load(dir);
        if (adapter is not null) LoraModel.Load(model, adapter);
        return model;
    }

    /// <summary>`{field}_ids` used exactly as given; text `{field}` needs the model's tokenizer.</summary>
    public static int[] Ids(JsonlReader.Record record, string path, string field)
    {
        if (record.Json.ContainsKey(field + "_ids")) return record.RequireIntArray(field + "_ids", path);
        if (record.Json.ContainsKey(field))
            throw new JsonlFormatException(path, record.Line,
                $"field \"{field}\" is text, which needs the model's tokenizer; this build cannot tokenize yet (Distill.Text) — give \"{field}_ids\"");
        throw new JsonlFormatException(path, record.Line, $"needs \"{field}\" (text) or \"{field}_ids\" (token ids)");
    }

    /// <summary>Runs a verb body: data to stdout, a one-line reason on stderr and exit 1 on bad input.</summary>
    public static int Run(string verb, Action body)
    {
        try
        {
            body();
            return 0;
        }
        catch (Exception e) when (e is ArgumentException or ModelFormatException or FormatException or IOException or NotSupportedException or InvalidOperationException)
        {
            Console.Error.WriteLine($"distill {verb}: {e.Message}");
            return 1;
        }
    }
}
