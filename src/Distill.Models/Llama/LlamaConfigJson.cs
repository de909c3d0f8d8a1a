using System.Text.Json.Nodes;
using Distill.Models.Formats;

namespace Distill.Models.Llama;

/// <summary>
/// config.json of LlamaForCausalLM, Qwen2ForCausalLM, MistralForCausalLM (and their *ForSequenceClassification) and
/// Qwen3ForCausalLM with the key names and defaults of transformers' LlamaConfig / Qwen2Config / MistralConfig / Qwen3Config
/// (configuration_*.py). Qwen3Config: head_dim 128 by default (not hidden / heads), attention_bias on q, k, v and o
/// (Qwen3Attention: bias=config.attention_bias on all four), the sliding-window keys of Qwen2, and the per-head q_norm /
/// k_norm its modeling file always builds.
/// </summary>
public static class LlamaConfigJson
{
    public static ModelConfig Read(ConfigJsonReader r, string architecture, string modelType)
    {
        // Class defaults differ by model_type (transformers' __init__ signatures).
        var (vocab, hidden, inter, maxPos, tie) = modelType switch
        {
            "qwen2" or "qwen3" => (151936, 4096, 22016, 32768, false),
            "mistral" => (32000, 4096, 14336, 4096 * 32, false),
            _ => (32000, 4096, 11008, 2048, false),
        };
        int heads = r.Int("num_attention_heads", 32);
        int kvHeads = r.OptionalInt("num_key_value_heads") ?? (modelType == "mistral" ? 8 : heads);
        int hiddenSize = r.Int("hidden_size", hidden);
        string act = r.String("hidden_act", "silu");
        if (act != "silu")
            throw new ModelFormatException($"{r.File}: 'hidden_act' = '{act}' is not supported for {architecture} (supported: silu)");
        // attention_bias / mlp_bias are LlamaConfig's; Qwen2's q/k/v biases and Mistral's none are fixed in their modeling files.
        bool attentionBias = modelType is "llama" or "qwen3" ? r.Bool("attention_bias", false) : RefuseBias(r, architecture, "attention_bias", modelType == "mistral");
        bool mlpBias = modelType == "llama" ? r.Bool("mlp_bias", false) : RefuseBias(r, architecture, "mlp_bias", allowFalse: true);
        int layers = r.Int("num_hidden_layers", 32);
        var (window, windowLayers) = ReadWindow(r, architecture, modelType, layers);
        var rope = RopeConfigJson.Read(r);
        // transformers' Llama/Qwen2/Mistral apply_rotary_pos_emb rotates whole heads; a partial rotary factor has no meaning there.
        if (rope.PartialRotaryFactor is double partial && partial != 1)
            throw new ModelFormatException($"{r.File}: 'partial_rotary_factor' = {partial} is not implemented for {architecture} (its attention rotates whole heads)");
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
            // LlamaConfig and MistralConfig have head_dim; Qwen2Attention reads getattr(config, "head_dim", hidden // heads).
            // Qwen3Config declares head_dim = 128 as a field default.
            HeadDim = r.OptionalInt("head_dim") ?? (modelType == "qwen3" ? 128 : hiddenSize / heads),
            MaxPositionEmbeddings = r.Int("max_position_embeddings", maxPos),
            NormEps = r.Double("rms_norm_eps", 1e-6),
            HiddenAct = act,
            TieWordEmbeddings = r.Bool("tie_word_embeddings", tie),
            InitializerRange = r.Double("initializer_range", 0.02),
            RopeTheta = rope.Theta,
            RopeScaling = RopeConfigJson.ReadScaling(rope, r.File, r.OptionalInt("original_max_position_embeddings")),
            QkvBias = modelType == "qwen2" || attentionBias,
            QkNorm = modelType == "qwen3",
            OProjBias = attentionBias,
            MlpBias = mlpBias,
            SlidingWindow = window,
            SlidingWindowLayers = Math.Min(windowLayers, layers),
            BosTokenId = r.Present("bos_token_id") ? r.OptionalInt("bos_token_id") : modelType is "qwen2" or "qwen3" ? null : 1,
            EosTokenIds = eos.Length > 0 || r.Present("eos_token_id") ? eos : modelType is "qwen2" or "qwen3" ? [] : [2],
            PadTokenId = r.OptionalInt("pad_token_id"),
            AttentionDropout = r.Double("attention_dropout", 0),
            TorchDType = ConfigKeys.ReadDType(r),
            NumLabels = architecture.EndsWith("ForSequenceClassification", StringComparison.Ordinal) ? ConfigJson.ReadNumLabels(r) : null,
        };
    }

    /// <summary>A bias switch the family's modeling file does not read: absent (or, where <paramref name="allowFalse"/>, false) or refused.</summary>
    static bool RefuseBias(ConfigJsonReader r, string architecture, string key, bool allowFalse)
    {
        if (!r.Has(key) || allowFalse && !r.Bool(key, false)) return false;
        throw new ModelFormatException($"{r.File}: '{key}' = {r.Json[key]!.ToJsonString()} is not implemented for {architecture} "
            + "(its modeling file fixes the biases; a checkpoint with other biases would load wrongly)");
    }

    /// <summary>
    /// Sliding window per model_type: Qwen2 (configuration_qwen2.py) slides only with use_sliding_window, with sliding_window
    /// (default 4096) on layers i &gt;= max_window_layers (default 28); Mistral slides on every layer whenever sliding_window is
    /// set (default 4096; MistralConfig has no use_sliding_window); Llama never slides. Keys another family would read are
    /// refused when they ask for something else.
    /// </summary>
    static (int? Window, int FirstLayer) ReadWindow(ConfigJsonReader r, string architecture, string modelType, int layers)
    {
        int? window = null;
        int first = 0;
        switch (modelType)
        {
            case "qwen2" or "qwen3":
                // Qwen3Config.__post_init__ is Qwen2's rule: sliding_window only with use_sliding_window, on layers i >= max_window_layers.
                r.Accept("sliding_window", "max_window_layers");
                if (r.Bool("use_sliding_window", false))
                {
                    window = r.Has("sliding_window") ? r.OptionalInt("sliding_window") : r.Present("sliding_window") ? null : 4096;
                    first = window is null ? 0 : r.Int("max_window_layers", 28);
                }
                int firstSliding = window is null ? layers : first;
                ConfigKeys.CheckLayerTypes(r, layers, i => i >= firstSliding ? "sliding_attention" : "full_attention", "'use_sliding_window' and 'max_window_layers'");
                break;
            case "mistral":
                window = r.Has("sliding_window") ? r.OptionalInt("sliding_window") : r.Present("sliding_window") ? null : 4096;
                if (window is not null && r.Has("use_sliding_window") && !r.Bool("use_sliding_window", true))
                    throw new ModelFormatException($"{r.File}: 'use_sliding_window' = false is not read by {architecture} (transformers slides whenever "
                        + "'sliding_window' is set); set 'sliding_window' to null for full attention");
                r.Accept("use_sliding_window");
                ConfigKeys.CheckLayerTypes(r, layers, _ => window is null ? "full_attention" : "sliding_attention", "'sliding_window'");
                break;
            default:
                if (r.OptionalInt("sliding_window") is int w)
                    throw new ModelFormatException($"{r.File}: 'sliding_window' = {w} is not implemented for {architecture} (transformers' Llama attends to every key)");
                if (r.Bool("use_sliding_window", false))
                    throw new ModelFormatException($"{r.File}: 'use_sliding_window' = true is not implemented for {architecture}");
                ConfigKeys.CheckLayerTypes(r, layers, _ => "full_attention", "the architecture (full attention on every layer)");
                break;
        }
        return (window, first);
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
        if (c.ModelType != "qwen2" || c.HeadDim != c.HiddenSize / c.NumHeads) o["head_dim"] = c.HeadDim;
        if (c.ModelType == "llama") { o["attention_bias"] = c.QkvBias; o["mlp_bias"] = c.MlpBias; }
        if (c.ModelType == "qwen3") o["attention_bias"] = c.QkvBias;
        if (c.ModelType == "mistral") o["sliding_window"] = c.SlidingWindow;
        if (c.ModelType is "qwen2" or "qwen3")
        {
            o["use_sliding_window"] = c.SlidingWindow is not null;
            o["sliding_window"] = c.SlidingWindow;
            o["max_window_layers"] = c.SlidingWindow is null ? c.NumLayers : c.SlidingWindowLayers;
        }
        ConfigJson.WriteTokens(o, c);
        ConfigJson.WriteLabels(o, c);
        return o;
    }
}
