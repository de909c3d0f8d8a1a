using System.Text.Json.Nodes;
using Distill.Models.Formats;

namespace Distill.Models.Llama;

/// <summary>
/// config.json of LlamaForCausalLM, Qwen2ForCausalLM and MistralForCausalLM (and their *ForSequenceClassification) with the key names and
/// defaults of transformers' LlamaConfig / Qwen2Config / MistralConfig (configuration_*.py).
/// </summary>
public static class LlamaConfigJson
{
    public static ModelConfig Read(ConfigJsonReader r, string architecture, string modelType)
    {
        // Class defaults differ by model_type (transformers' __init__ signatures).
        var (vocab, hidden, inter, maxPos, tie) = modelType switch
        {
            "qwen2" => (151936, 4096, 22016, 32768, false),
            "mistral" => (32000, 4096, 14336, 4096 * 32, false),
            _ => (32000, 4096, 11008, 2048, false),
        };
        int heads = r.Int("num_attention_heads", 32);
        int kvHeads = r.OptionalInt("num_key_value_heads") ?? (modelType == "mistral" ? 8 : heads);
        int hiddenSize = r.Int("hidden_size", hidden);
        string act = r.String("hidden_act", "silu");
        if (act != "silu")
            throw new ModelFormatException($"{r.File}: 'hidden_act' = '{act}' is not supported for {architecture} (supported: silu)");
        bool attentionBias = modelType == "llama" && r.Bool("attention_bias", false);
        int? window = null;
        int windowLayers = 0, layers = r.Int("num_hidden_layers", 32);
        if (modelType == "qwen2" && r.Bool("use_sliding_window", false))
        {
            // Qwen2Config: sliding_window (default 4096) applies to layers i >= max_window_layers (default 28).
            window = r.Has("sliding_window") ? r.OptionalInt("sliding_window") : r.Present("sliding_window") ? null : 4096;
            windowLayers = window is null ? 0 : r.Int("max_window_layers", 28);
        }
        if (modelType == "mistral")
            window = r.Has("sliding_window") ? r.OptionalInt("sliding_window") : r.Present("sliding_window") ? null : 4096;
        if (modelType == "qwen2") CheckLayerTypes(r, layers, window is null ? layers : windowLayers);
        var eos = r.IntOrList("eos_token_id");
        return new ModelConfig
        {
            Architecture = architecture,
            ModelType = modelType,
            Family = ModelFamily.Llama,
            VocabSize = r.Int("vocab_size", vocab),
            HiddenSize = hiddenSize,
            IntermediateSize = r.Int("intermediate_size", inter),
            NumLayers = layers,
            NumHeads = heads,
            NumKvHeads = kvHeads,
            // Qwen2Config has no head_dim key; Llama and Mistral accept one.
            HeadDim = modelType == "qwen2" ? hiddenSize / heads : r.OptionalInt("head_dim") ?? hiddenSize / heads,
            MaxPositionEmbeddings = r.Int("max_position_embeddings", maxPos),
            NormEps = r.Double("rms_norm_eps", 1e-6),
            HiddenAct = act,
            TieWordEmbeddings = r.Bool("tie_word_embeddings", tie),
            InitializerRange = r.Double("initializer_range", 0.02),
            RopeTheta = r.Double("rope_theta", 10000.0),
            RopeScaling = r.ReadRopeScaling(),
            QkvBias = modelType == "qwen2" || attentionBias,
            OProjBias = attentionBias,
            MlpBias = modelType == "llama" && r.Bool("mlp_bias", false),
            SlidingWindow = window,
            SlidingWindowLayers = Math.Min(windowLayers, layers),
            BosTokenId = r.Present("bos_token_id") ? r.OptionalInt("bos_token_id") : modelType == "qwen2" ? null : 1,
            EosTokenIds = eos.Length > 0 || r.Present("eos_token_id") ? eos : modelType == "qwen2" ? [] : [2],
            PadTokenId = r.OptionalInt("pad_token_id"),
            AttentionDropout = r.Double("attention_dropout", 0),
            TorchDType = r.String("torch_dtype", "float32"),
            NumLabels = architecture.EndsWith("ForSequenceClassification", StringComparison.Ordinal) ? ConfigJson.ReadNumLabels(r) : null,
        };
    }

    public static JsonObject Write(ModelConfig c)
    {
        var o = new JsonObject
        {
            ["architectures"] = new JsonArray(c.Architecture),
            ["model_type"] = c.ModelType,
            ["vocab_size"] = c.VocabSize,
            ["hidden_size"] = c.HiddenSize,
            ["intermediate_size"] = c.IntermediateSize,
            ["num_hidden_layers"] = c.NumLayers,
            ["num_attention_heads"] = c.NumHeads,
            ["num_key_value_heads"] = c.NumKvHeads,
            ["hidden_act"] = c.HiddenAct,
            ["max_position_embeddings"] = c.MaxPositionEmbeddings,
            ["initializer_range"] = c.InitializerRange,
            ["rms_norm_eps"] = c.NormEps,
            ["rope_theta"] = c.RopeTheta,
            ["rope_scaling"] = ConfigJson.WriteRopeScaling(c.RopeScaling),
            ["tie_word_embeddings"] = c.TieWordEmbeddings,
            ["attention_dropout"] = c.AttentionDropout,
        };
        if (c.ModelType != "qwen2") o["head_dim"] = c.HeadDim;
        if (c.ModelType == "llama") { o["attention_bias"] = c.QkvBias; o["mlp_bias"] = c.MlpBias; }
        if (c.ModelType == "mistral") o["sliding_window"] = c.SlidingWindow;
        if (c.ModelType == "qwen2")
        {
            o["use_sliding_window"] = c.SlidingWindow is not null;
            o["sliding_window"] = c.SlidingWindow;
            o["max_window_layers"] = c.SlidingWindow is null ? c.NumLayers : c.SlidingWindowLayers;
        }
        ConfigJson.WriteTokens(o, c);
        ConfigJson.WriteLabels(o, c);
        return o;
    }

    /// <summary>
    /// Qwen2's `layer_types` (written by newer transformers), when present, must be what use_sliding_window and
    /// max_window_layers imply: "full_attention" below the first sliding layer, "sliding_attention" from it on.
    /// Another pattern is an error naming the key.
    /// </summary>
    static void CheckLayerTypes(ConfigJsonReader r, int layers, int firstSliding)
    {
        if (r.Json["layer_types"] is not { } node) return;
        var expected = Enumerable.Range(0, layers).Select(i => i >= firstSliding ? "sliding_attention" : "full_attention").ToArray();
        var got = node is JsonArray a ? a.Select(n => n is JsonValue v && v.TryGetValue(out string? s) ? s : "?").ToArray() : [];
        if (!got.SequenceEqual(expected))
            throw new ModelFormatException($"{r.File}: 'layer_types' {node.ToJsonString()} is not supported; Distill reads the per-layer pattern "
                + $"from 'use_sliding_window' and 'max_window_layers' (expected [{string.Join(", ", expected.Select(e => $"\"{e}\""))}])");
    }
}
