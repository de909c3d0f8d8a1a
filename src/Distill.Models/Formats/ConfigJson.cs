using System.Text.Json;
using System.Text.Json.Nodes;
using Distill.Models.Gemma3;
using Distill.Models.Gpt2;
using Distill.Models.Llama;
using Distill.Models.Phi;
using Distill.Models.Phi3;

namespace Distill.Models.Formats;

/// <summary>
/// Reads and writes a Hugging Face `config.json`. The architecture is `architectures[0]` (as
/// transformers' Auto classes pick it), falling back to `model_type`; each family applies its own
/// class defaults. An unknown architecture, or an option the forward does not implement, is an error
/// naming the key.
/// </summary>
public static class ConfigJson
{
    static readonly (string Architecture, string ModelType)[] Supported =
    [
        ("LlamaForCausalLM", "llama"), ("Qwen2ForCausalLM", "qwen2"), ("MistralForCausalLM", "mistral"),
        ("GPT2LMHeadModel", "gpt2"), ("PhiForCausalLM", "phi"), ("Phi3ForCausalLM", "phi3"),
        ("Qwen3ForCausalLM", "qwen3"), ("Gemma3ForCausalLM", "gemma3_text"),
        // Reward models / classifiers: the same decoder with a `score` head (modeling_llama.py's LlamaForSequenceClassification).
        ("LlamaForSequenceClassification", "llama"), ("Qwen2ForSequenceClassification", "qwen2"), ("MistralForSequenceClassification", "mistral"),
    ];

    /// <summary>Loads `config.json` from a model folder, or a config file given directly.</summary>
    public static ModelConfig Load(string path)
    {
        var file = Directory.Exists(path) ? Path.Combine(path, CheckpointNames.Config) : path;
        if (!File.Exists(file)) throw new ModelFormatException($"{file}: no config.json");
        return Read(ConfigJsonReader.Load(file));
    }

    public static ModelConfig Read(ConfigJsonReader r)
    {
        string? architecture = null;
        if (r.Json["architectures"] is JsonArray { Count: > 0 } archs)
            architecture = archs[0] is JsonValue v && v.TryGetValue(out string? s) ? s
                : throw new ModelFormatException($"{r.File}: 'architectures[0]' must be a string");
        string? modelType = r.Has("model_type") ? r.String("model_type", "") : null;
        var row = architecture is not null
            ? Supported.FirstOrDefault(x => x.Architecture == architecture)
            : Supported.FirstOrDefault(x => x.ModelType == modelType);
        if (row.Architecture is null)
            throw new ModelFormatException(architecture is not null
                ? $"{r.File}: 'architectures' names '{architecture}', which Distill does not implement (supported: {string.Join(", ", Supported.Select(x => x.Architecture))})"
                : $"{r.File}: 'model_type' '{modelType ?? "(missing)"}' is not supported and 'architectures' is absent");
        if (modelType is not null && modelType != row.ModelType)
            throw new ModelFormatException($"{r.File}: 'model_type' '{modelType}' does not match architecture '{row.Architecture}' (expected '{row.ModelType}')");
        var config = row.ModelType switch
        {
            "gpt2" => Gpt2ConfigJson.Read(r, row.Architecture),
            "phi" => PhiConfigJson.Read(r, row.Architecture),
            "phi3" => Phi3ConfigJson.Read(r, row.Architecture),
            "gemma3_text" => Gemma3ConfigJson.Read(r, row.Architecture),
            _ => LlamaConfigJson.Read(r, row.Architecture, row.ModelType),
        };
        ConfigKeys.CheckAllRead(r, row.Architecture);
        // transformers 5 writes rope_parameters (not rope_theta / rope_scaling) and dtype (not torch_dtype).
        config = config with { ConfigGeneration = r.Json.ContainsKey("rope_parameters") || r.Json.ContainsKey("dtype") ? 5 : 4 };
        config.Validate(r.File);
        return config;
    }

    public static JsonObject ToJson(ModelConfig c) => c.Family switch
    {
        ModelFamily.Gpt2 => Gpt2ConfigJson.Write(c),
        ModelFamily.Phi => PhiConfigJson.Write(c),
        ModelFamily.Phi3 => Phi3ConfigJson.Write(c),
        ModelFamily.Gemma3 => Gemma3ConfigJson.Write(c),
        _ => LlamaConfigJson.Write(c),
    };

    /// <summary>Writes config.json (atomically) into <paramref name="dir"/>.</summary>
    public static void Save(ModelConfig c, string dir)
    {
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, CheckpointNames.Config);
        var json = ToJson(c);
        json["torch_dtype"] = c.TorchDType;
        File.WriteAllText(path + ".tmp", json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
        File.Move(path + ".tmp", path, overwrite: true);
    }

    internal static JsonNode? WriteRopeScaling(RopeScaling? s) => s switch
    {
        null => null,
        { Type: "linear" } => new JsonObject { ["rope_type"] = "linear", ["factor"] = s.Factor },
        _ => new JsonObject
        {
            ["rope_type"] = s.Type, ["factor"] = s.Factor, ["low_freq_factor"] = s.LowFreqFactor,
            ["high_freq_factor"] = s.HighFreqFactor, ["original_max_position_embeddings"] = s.OriginalMaxPositionEmbeddings,
        },
    };

    /// <summary>
    /// num_labels as PretrainedConfig derives it: len(id2label) when config.json has id2label, else num_labels, else 2
    /// (configuration_utils.py). Only sequence classifiers read it; a language model's id2label is ignored as transformers' is.
    /// </summary>
    internal static int ReadNumLabels(ConfigJsonReader r)
    {
        if (r.Json["id2label"] is { } node)
            return node is JsonObject o ? o.Count : throw new ModelFormatException($"{r.File}: 'id2label' must be an object, got {node.ToJsonString()}");
        return r.Int("num_labels", 2);
    }

    /// <summary>id2label / label2id as PretrainedConfig writes them for n labels (LABEL_0, LABEL_1, ...).</summary>
    internal static void WriteLabels(JsonObject o, ModelConfig c)
    {
        if (c.NumLabels is not int n) return;
        var id2label = new JsonObject();
        var label2id = new JsonObject();
        for (int i = 0; i < n; i++) { id2label[i.ToString(System.Globalization.CultureInfo.InvariantCulture)] = $"LABEL_{i}"; label2id[$"LABEL_{i}"] = i; }
        o["id2label"] = id2label;
        o["label2id"] = label2id;
    }

    internal static void WriteTokens(JsonObject o, ModelConfig c)
    {
        o["bos_token_id"] = c.BosTokenId;
        o["eos_token_id"] = c.EosTokenIds.Length switch { 0 => null, 1 => c.EosTokenIds[0], _ => new JsonArray(c.EosTokenIds.Select(e => (JsonNode?)e).ToArray()) };
        if (c.PadTokenId is int pad) o["pad_token_id"] = pad;
    }
}
