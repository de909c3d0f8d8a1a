using System.CommandLine;
using Distill.Data.Jsonl;
using Distill.Models;
using Distill.Models.Formats;
using Distill.Models.Lora;
using Distill.Text;

namespace Distill.Cli.Commands;

/// <summary>Options and helpers shared by the model verbs (score, generate).</summary>
static class ModelVerbOptions
{
    public static (Option<string> Model, Option<string?> Adapter, Option<string> Input, Option<string> Output) Create() => (
        new Option<string>("--model") { Description = "Hugging Face model folder (config.json + *.safetensors)", Required = true },
        new Option<string?>("--adapter") { Description = "PEFT LoRA adapter folder (adapter_config.json + adapter_model.safetensors)" },
        new Option<string>("--input") { Description = "input JSONL", Required = true },
        new Option<string>("--output") { Description = "output JSONL (- for stdout)", DefaultValueFactory = _ => "-" });

    /// <summary>`--weights f32|q8|q8row|bf16`: the weights forward-only passes run on (docs/models.md, "8-bit inference weights").</summary>
    public static Option<string> Weights() => new("--weights")
    {
        Description = "inference weights: f32 (reference), q8 (llama.cpp's q8_0 blocks, int8 dot products), q8row (int8, one scale per row) or bf16 (half the bytes of f32); LoRA adapters stay float",
        DefaultValueFactory = _ => "f32",
    };

    /// <summary>The parsed `--weights` value; a bad one is a usage error naming the choices.</summary>
    public static InferenceWeights ParseWeights(string? value)
    {
        try { return InferenceWeightsNames.Parse(value ?? "f32"); }
        catch (ArgumentException e) { throw new BadInputException("--weights: " + e.Message); }
    }

    /// <summary>Loads the model (and adapter), logging to stderr what was found: class, config.json generation, tensor-name layout.</summary>
    public static CausalLM LoadModel(string dir, string? adapter, InferenceWeights weights = InferenceWeights.F32)
    {
        var model = ModelIO.Load(dir, line => Console.Error.WriteLine("distill: loaded " + line));
        if (adapter is not null) LoraModel.Load(model, adapter);
        if (weights != InferenceWeights.F32)
        {
            model.FreezeBase(); // inference only: frozen weights get their 8-bit copies
            Console.Error.WriteLine("distill: " + model.UseInferenceWeights(weights));
        }
        return model;
    }

    /// <summary>
    /// The model folder's tokenizer.json, loaded on first use (a folder without one still serves
    /// token-id records); null when the folder has none.
    /// </summary>
    public static Lazy<Tokenizer?> LazyTokenizer(string modelDir) => new(() =>
        File.Exists(Path.Combine(modelDir, "tokenizer.json")) ? TokenizerLoader.Load(modelDir) : null);

    /// <summary>
    /// `{field}_ids` used exactly as given; text `{field}` is encoded with the model's tokenizer as
    /// transformers does by default: the prompt with add_special_tokens (BOS where the tokenizer's
    /// post-processor adds one), the completion without (it continues the prompt).
    /// </summary>
    public static int[] Ids(JsonlReader.Record record, string path, string field, Lazy<Tokenizer?> tokenizer, bool addSpecialTokens)
    {
        if (record.Json.ContainsKey(field + "_ids")) return record.RequireIntArray(field + "_ids", path);
        if (record.Json.ContainsKey(field))
        {
            var text = record.RequireString(field, path);
            var tok = tokenizer.Value ?? throw new JsonlFormatException(path, record.Line,
                $"field \"{field}\" is text, but the model folder has no tokenizer.json — give \"{field}_ids\"");
            return [.. tok.EncodeToIds(text, addSpecialTokens)];
        }
        throw new JsonlFormatException(path, record.Line, $"needs \"{field}\" (text) or \"{field}_ids\" (token ids)");
    }
}
