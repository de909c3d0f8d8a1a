using System.Text.Json.Nodes;
using Distill.Models.Formats;

namespace Distill.Models.Gemma3;

/// <summary>
/// config.json of Gemma3ForCausalLM (model_type gemma3_text) with transformers' Gemma3TextConfig key names and defaults
/// (configuration_gemma3.py): vocab 262208, hidden 2304, intermediate 9216, 26 layers, 8 heads, 4 kv heads, head_dim 256,
/// hidden_activation gelu_pytorch_tanh, max_position_embeddings 131072, rms_norm_eps 1e-6, pad 0, eos 1, bos 2, tied,
/// rope_theta 1e6, rope_local_base_freq 1e4, query_pre_attn_scalar 256, sliding_window 4096, no softcapping.
/// <para>Layer kinds: <c>layer_types</c> when given; otherwise layer i slides unless (i + 1) is a multiple of
/// sliding_window_pattern (default 6; configs written by transformers ≥ 4.53 also carry it as <c>_sliding_window_pattern</c>).</para>
/// <para>RoPE, transformers 4: rope_theta with rope_scaling for full layers, rope_local_base_freq (plain) for sliding ones.
/// transformers 5: <c>rope_parameters</c> = {"full_attention": {...}, "sliding_attention": {...}}, each dict's rope_theta set
/// by default from rope_theta / rope_local_base_freq (Gemma3TextConfig.convert_rope_params_to_dict). A non-default RoPE on
/// sliding layers, attn_logit_softcapping and use_bidirectional_attention are refused: the engine's attention has no
/// score soft-capping and is causal.</para>
/// </summary>
public static class Gemma3ConfigJson
{
    const string Sliding = "sliding_attention", Full = "full_attention";

    public static ModelConfig Read(ConfigJsonReader r, string architecture)
    {
        int hidden = r.Int("hidden_size", 2304), heads = r.Int("num_attention_heads", 8), layers = r.Int("num_hidden_layers", 26);
        string act = r.String("hidden_activation", "gelu_pytorch_tanh");
        if (act is not ("gelu_pytorch_tanh" or "gelu_new" or "gelu"))
            throw new ModelFormatException($"{r.File}: 'hidden_activation' = '{act}' is not supported for {architecture} (supported: gelu_pytorch_tanh, gelu_new, gelu)");
        // Gemma 1 named it hidden_act; Gemma3TextConfig keeps the key as a plain attribute and never reads it.
        if (r.Has("hidden_act") && r.String("hidden_act", act) != act)
            throw new ModelFormatException($"{r.File}: 'hidden_act' = '{r.String("hidden_act", "")}' differs from 'hidden_activation' '{act}' (Gemma3MLP reads hidden_activation); keep one");
        if (r.OptionalDouble("attn_logit_softcapping") is double attnCap)
            throw new ModelFormatException($"{r.File}: 'attn_logit_softcapping' = {attnCap} is not implemented (Distill's attention has no score soft-capping); "
                + "Gemma 3 checkpoints set it to null");
        if (r.Bool("use_bidirectional_attention", false))
            throw new ModelFormatException($"{r.File}: 'use_bidirectional_attention' = true is not implemented (an encoder use of Gemma 3; Distill's attention is causal)");
        int? window = r.Present("sliding_window") ? r.OptionalInt("sliding_window") : 4096;
        var types = ReadLayerTypes(r, layers);
        if (window is null && types.Contains(Sliding))
            throw new ModelFormatException($"{r.File}: 'sliding_window' is null but layers {string.Join(", ", Enumerable.Range(0, layers).Where(i => types[i] == Sliding))} are sliding_attention");
        bool attentionBias = r.Bool("attention_bias", false);
        var (theta, scaling, localTheta) = ReadRope(r, architecture);
        var eos = r.IntOrList("eos_token_id");
        return new ModelConfig
        {
            Architecture = architecture,
            ModelType = "gemma3_text",
            Family = ModelFamily.Gemma3,
            VocabSize = r.Int("vocab_size", 262208),
            HiddenSize = hidden,
            IntermediateSize = r.Int("intermediate_size", 9216),
            NumLayers = layers,
            NumHeads = heads,
            NumKvHeads = r.OptionalInt("num_key_value_heads") ?? 4,
            HeadDim = r.Int("head_dim", 256),
            MaxPositionEmbeddings = r.Int("max_position_embeddings", 131072),
            NormEps = r.Double("rms_norm_eps", 1e-6),
            HiddenAct = act,
            TieWordEmbeddings = r.Bool("tie_word_embeddings", true),
            InitializerRange = r.Double("initializer_range", 0.02),
            RopeTheta = theta,
            RopeScaling = scaling,
            RopeLocalTheta = localTheta,
            QkvBias = attentionBias,
            OProjBias = attentionBias,
            QkNorm = true,
            SlidingWindow = types.Contains(Sliding) ? window : null,
            LayerTypes = types,
            QueryPreAttnScalar = r.Double("query_pre_attn_scalar", 256),
            FinalLogitSoftcapping = r.OptionalDouble("final_logit_softcapping"),
            BosTokenId = r.Present("bos_token_id") ? r.OptionalInt("bos_token_id") : 2,
            EosTokenIds = eos.Length > 0 || r.Present("eos_token_id") ? eos : [1],
            PadTokenId = r.Present("pad_token_id") ? r.OptionalInt("pad_token_id") : 0,
            AttentionDropout = r.Double("attention_dropout", 0),
            TorchDType = ConfigKeys.ReadDType(r),
        };
    }

    /// <summary>layer_types, else the sliding_window_pattern rule of Gemma3TextConfig (the pattern keys are inert once layer_types is given).</summary>
    static string[] ReadLayerTypes(ConfigJsonReader r, int layers)
    {
        // transformers 5 reads kwargs.get("sliding_window_pattern", 6); 4.5x configs write the private "_sliding_window_pattern" beside layer_types
        int? pattern = r.OptionalInt("sliding_window_pattern"), privatePattern = r.OptionalInt("_sliding_window_pattern");
        pattern ??= privatePattern;
        r.Accept("cache_implementation");   // "hybrid": generate()'s cache choice, not the numerics
        if (r.Node("layer_types") is { } node)
        {
            var types = node is JsonArray a
                ? a.Select((n, i) => n is JsonValue v && v.TryGetValue(out string? s) && s is Sliding or Full ? s
                    : throw new ModelFormatException($"{r.File}: 'layer_types[{i}]' must be \"{Sliding}\" or \"{Full}\", got {n?.ToJsonString() ?? "null"}")).ToArray()
                : throw new ModelFormatException($"{r.File}: 'layer_types' must be a list, got {node.ToJsonString()}");
            if (types.Length != layers)
                throw new ModelFormatException($"{r.File}: 'layer_types' has {types.Length} entries for {layers} layers ('num_hidden_layers')");
            return types;
        }
        int p = pattern ?? 6;
        if (p <= 0) throw new ModelFormatException($"{r.File}: 'sliding_window_pattern' must be positive, got {p}");
        return Enumerable.Range(0, layers).Select(i => (i + 1) % p != 0 ? Sliding : Full).ToArray();
    }

    static (double Theta, RopeScaling? Scaling, double LocalTheta) ReadRope(ConfigJsonReader r, string architecture)
    {
        double? topTheta = r.OptionalDouble("rope_theta"), topLocal = r.OptionalDouble("rope_local_base_freq");
        var topScaling = r.Node("rope_scaling") switch
        {
            null => null,
            JsonObject o => o,
            var n => throw new ModelFormatException($"{r.File}: 'rope_scaling' must be an object or null, got {n.ToJsonString()}"),
        };
        if (r.OptionalDouble("partial_rotary_factor") is double top && top != 1)
            throw new ModelFormatException($"{r.File}: 'partial_rotary_factor' = {top} is not implemented for {architecture} (Gemma 3 rotates whole heads)");
        var node = r.Node("rope_parameters");
        if (node is null)
        {
            var global = new RopeConfigJson.Rope(topTheta ?? 1e6, topScaling, "rope_scaling", null, V5: false);
            return (global.Theta, RopeConfigJson.ReadScaling(global, r.File, null), topLocal ?? 1e4);
        }
        if (node is not JsonObject p || p[Full] is not JsonObject full || p[Sliding] is not JsonObject sliding || p.Count != 2)
            throw new ModelFormatException($"{r.File}: 'rope_parameters' must hold one dict for \"{Full}\" and one for \"{Sliding}\" "
                + $"(Gemma3TextConfig's per-layer-type RoPE), got {node.ToJsonString()}");
        double Theta(JsonObject d, string type, double? topValue, string topKey, double fallback)
        {
            var inner = new ConfigJsonReader(d, r.File);
            double? v = inner.OptionalDouble("rope_theta");
            if (v is not null && topValue is not null && v != topValue)
                throw new ModelFormatException($"{r.File}: '{topKey}' ({topValue}) and 'rope_parameters.{type}.rope_theta' ({v}) disagree "
                    + "(transformers 4 reads the first, transformers 5 the second); keep one");
            if (inner.OptionalDouble("partial_rotary_factor") is double f && f != 1)
                throw new ModelFormatException($"{r.File}: 'rope_parameters.{type}.partial_rotary_factor' = {f} is not implemented for {architecture}");
            return v ?? topValue ?? fallback;
        }
        double theta = Theta(full, Full, topTheta, "rope_theta", 1e6), local = Theta(sliding, Sliding, topLocal, "rope_local_base_freq", 1e4);
        if (RopeConfigJson.ScalingType(sliding, $"rope_parameters.{Sliding}", r.File) != "default")
            throw new ModelFormatException($"{r.File}: 'rope_parameters.{Sliding}' {sliding.ToJsonString()}: scaled RoPE on sliding layers is not implemented "
                + "(Gemma 3 scales only the global layers)");
        RopeConfigJson.RequireOnly(sliding, $"rope_parameters.{Sliding}", r.File, "default");
        var globalRope = new RopeConfigJson.Rope(theta, full, $"rope_parameters.{Full}", null, V5: true);
        var scaling = RopeConfigJson.ReadScaling(globalRope, r.File, null);
        if (topScaling is not null && !Equals(RopeConfigJson.ReadScaling(new RopeConfigJson.Rope(theta, topScaling, "rope_scaling", null, false), r.File, null), scaling))
            throw new ModelFormatException($"{r.File}: 'rope_scaling' {topScaling.ToJsonString()} and 'rope_parameters.{Full}' {full.ToJsonString()} disagree "
                + "(transformers 4 reads the first, transformers 5 updates the second with it); keep one");
        return (theta, scaling, local);
    }

    /// <summary>The transformers 4 form (rope_theta, rope_scaling, rope_local_base_freq, layer_types), which both generations read.</summary>
    public static JsonObject Write(ModelConfig c)
    {
        var o = new JsonObject
        {
            ["architectures"] = new JsonArray(c.Architecture),
            ["model_type"] = "gemma3_text",
            ["vocab_size"] = c.VocabSize,
            ["hidden_size"] = c.HiddenSize,
            ["intermediate_size"] = c.IntermediateSize,
            ["num_hidden_layers"] = c.NumLayers,
            ["num_attention_heads"] = c.NumHeads,
            ["num_key_value_heads"] = c.NumKvHeads,
            ["head_dim"] = c.HeadDim,
            ["hidden_activation"] = c.HiddenAct,
            ["max_position_embeddings"] = c.MaxPositionEmbeddings,
            ["initializer_range"] = c.InitializerRange,
            ["rms_norm_eps"] = c.NormEps,
            ["rope_theta"] = c.RopeTheta,
            ["rope_scaling"] = ConfigJson.WriteRopeScaling(c.RopeScaling),
            ["rope_local_base_freq"] = c.RopeLocalTheta,
            ["attention_bias"] = c.QkvBias,
            ["attention_dropout"] = c.AttentionDropout,
            ["query_pre_attn_scalar"] = c.QueryPreAttnScalar,
            ["sliding_window"] = c.SlidingWindow,
            ["layer_types"] = new JsonArray((c.LayerTypes ?? Enumerable.Repeat(Full, c.NumLayers)).Select(t => (JsonNode?)t).ToArray()),
            ["final_logit_softcapping"] = c.FinalLogitSoftcapping,
            ["attn_logit_softcapping"] = null,
            ["tie_word_embeddings"] = c.TieWordEmbeddings,
        };
        ConfigJson.WriteTokens(o, c);
        // Gemma3TextConfig defaults pad_token_id to 0: write an explicit null so a reload keeps "no pad token".
        if (c.PadTokenId is null) o["pad_token_id"] = null;
        return o;
    }
}
