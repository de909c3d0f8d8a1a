using System.Text.Json.Nodes;
using Distill.Models.Formats;

namespace Distill.Models.Phi3;

/// <summary>
/// config.json of Phi3ForCausalLM with transformers' Phi3Config key names and defaults (configuration_phi3.py):
/// vocab 32064, hidden 3072, intermediate 8192, 32 layers and heads, silu, rms_norm_eps 1e-5, max_position_embeddings
/// 4096, original_max_position_embeddings 4096, partial_rotary_factor 1.0, sliding_window null, bos 1, eos and pad 32000.
/// rope_scaling is null or "longrope" (also under its old names "su" and "yarn", which Phi3Config renames to longrope):
/// short_factor and long_factor of rotary_dim / 2 numbers each, optional attention_factor; the factor is
/// max_position_embeddings / original_max_position_embeddings (Phi3Config always has the latter, so transformers'
/// _compute_longrope_parameters takes that branch). Any other type is an error naming the key and the value.
/// </summary>
public static class Phi3ConfigJson
{
    public static ModelConfig Read(ConfigJsonReader r, string architecture)
    {
        int hidden = r.Int("hidden_size", 3072), heads = r.Int("num_attention_heads", 32);
        string act = r.String("hidden_act", "silu");
        if (act != "silu")
            throw new ModelFormatException($"{r.File}: 'hidden_act' = '{act}' is not supported for {architecture} (supported: silu)");
        // Phi-3(.5) configs carry attention_bias: false; Phi3Attention has no biases (its qkv_proj and o_proj are bias-free).
        if (r.Bool("attention_bias", false))
            throw new ModelFormatException($"{r.File}: 'attention_bias' = true is not implemented for {architecture} (Phi3Attention has no biases)");
        int? window = r.OptionalInt("sliding_window");
        int layers = r.Int("num_hidden_layers", 32);
        ConfigKeys.CheckLayerTypes(r, layers, _ => window is null ? "full_attention" : "sliding_attention", "'sliding_window'");
        int maxPos = r.Int("max_position_embeddings", 4096);
        var rope = RopeConfigJson.Read(r);
        double partial = rope.PartialRotaryFactor ?? 1.0;
        int headDim = r.OptionalInt("head_dim") ?? hidden / heads;
        var ropeScaling = ReadRopeScaling(r, rope, architecture, maxPos, r.Int("original_max_position_embeddings", 4096), (int)(headDim * partial) / 2);
        return new ModelConfig
        {
            Architecture = architecture,
            ModelType = "phi3",
            Family = ModelFamily.Phi3,
            VocabSize = r.Int("vocab_size", 32064),
            HiddenSize = hidden,
            IntermediateSize = r.Int("intermediate_size", 8192),
            NumLayers = layers,
            NumHeads = heads,
            NumKvHeads = r.OptionalInt("num_key_value_heads") ?? heads,
            // Phi3Attention: getattr(config, "head_dim", hidden_size // num_attention_heads)
            HeadDim = headDim,
            MaxPositionEmbeddings = maxPos,
            NormEps = r.Double("rms_norm_eps", 1e-5),
            HiddenAct = act,
            TieWordEmbeddings = r.Bool("tie_word_embeddings", false),
            InitializerRange = r.Double("initializer_range", 0.02),
            RopeTheta = rope.Theta,
            PartialRotaryFactor = partial,
            RopeScaling = ropeScaling,
            SlidingWindow = window,
            BosTokenId = r.Present("bos_token_id") ? r.OptionalInt("bos_token_id") : 1,
            EosTokenIds = r.Present("eos_token_id") ? r.IntOrList("eos_token_id") : [32000],
            PadTokenId = r.Present("pad_token_id") ? r.OptionalInt("pad_token_id") : 32000,
            ResidDropout = r.Double("resid_pdrop", 0.0),
            EmbdDropout = r.Double("embd_pdrop", 0.0),
            AttentionDropout = r.Double("attention_dropout", 0.0),
            TorchDType = ConfigKeys.ReadDType(r),
        };
    }

    /// <summary>
    /// rope_scaling (transformers 4) or rope_parameters (5): null / "default", or "longrope" (also "su", "yarn"). original_max_position_embeddings
    /// is Phi3Config's top-level field (default 4096), which both generations use (transformers 5's standardize_rope_params copies it into
    /// rope_parameters over any value there), so a different value inside the dict is refused.
    /// </summary>
    static RopeScaling? ReadRopeScaling(ConfigJsonReader r, RopeConfigJson.Rope rope, string architecture, int maxPos, int originalMax, int half)
    {
        if (rope.Scaling is not { } rs) return null;
        string key = rope.ScalingKey, type = RopeConfigJson.ScalingType(rs, key, r.File);
        var s = new ConfigJsonReader(rs, r.File);
        if (type == "default")
        {
            RopeConfigJson.RequireOnly(rs, key, r.File, type, "factor");
            return null;
        }
        if (type is not ("longrope" or "su" or "yarn"))
            throw new ModelFormatException($"{r.File}: '{key}' type '{type}' is not supported for {architecture} (supported: null, longrope)");
        RopeConfigJson.RequireOnly(rs, key, r.File, type, "short_factor", "long_factor", "factor", "attention_factor", "original_max_position_embeddings");
        if (s.OptionalInt("original_max_position_embeddings") is int inner && inner != originalMax)
            throw new ModelFormatException($"{r.File}: '{key}.original_max_position_embeddings' ({inner}) differs from 'original_max_position_embeddings' "
                + $"({originalMax}), which transformers uses for Phi-3; keep one");
        float[] Factors(string name)
        {
            if (rs[name] is not JsonArray a) throw new ModelFormatException($"{r.File}: '{key}.{name}' is required for rope_type '{type}' (a list of numbers)");
            var f = a.Select((n, i) => n is JsonValue v && v.TryGetValue(out double d) ? (float)d
                : throw new ModelFormatException($"{r.File}: '{key}.{name}[{i}]' must be a number")).ToArray();
            if (f.Length != half) throw new ModelFormatException($"{r.File}: '{key}.{name}' has {f.Length} values, expected rotary_dim / 2 = {half}");
            return f;
        }
        if (originalMax <= 0) throw new ModelFormatException($"{r.File}: 'original_max_position_embeddings' must be positive, got {originalMax}");
        // factor: rope_scaling.factor when given (current modeling_rope_utils.py: `if factor is None: factor = max / original`);
        // transformers 4.4x always took max / original for Phi3Config. Phi-3 and Phi-3.5 configs give no factor, so both agree.
        double factor = s.Has("factor") ? s.Double("factor", 1) : maxPos / (double)originalMax;
        return new RopeScaling("longrope", factor, OriginalMaxPositionEmbeddings: originalMax)
        {
            ShortFactor = Factors("short_factor"),
            LongFactor = Factors("long_factor"),
            AttentionFactor = s.Has("attention_factor") ? s.Double("attention_factor", 1) : null,
        };
    }

    public static JsonObject Write(ModelConfig c)
    {
        var o = new JsonObject
        {
            ["architectures"] = new JsonArray(c.Architecture),
            ["model_type"] = "phi3",
            ["vocab_size"] = c.VocabSize,
            ["hidden_size"] = c.HiddenSize,
            ["intermediate_size"] = c.IntermediateSize,
            ["num_hidden_layers"] = c.NumLayers,
            ["num_attention_heads"] = c.NumHeads,
            ["num_key_value_heads"] = c.NumKvHeads,
            ["resid_pdrop"] = c.ResidDropout,
            ["embd_pdrop"] = c.EmbdDropout,
            ["attention_dropout"] = c.AttentionDropout,
            ["hidden_act"] = c.HiddenAct,
            ["max_position_embeddings"] = c.MaxPositionEmbeddings,
            ["initializer_range"] = c.InitializerRange,
            ["rms_norm_eps"] = c.NormEps,
            ["rope_theta"] = c.RopeTheta,
            ["rope_scaling"] = c.RopeScaling is { } rs ? WriteLongRope(c, rs) : null,
            ["partial_rotary_factor"] = c.PartialRotaryFactor,
            ["sliding_window"] = c.SlidingWindow,
            ["tie_word_embeddings"] = c.TieWordEmbeddings,
        };
        if (c.HeadDim != c.HiddenSize / c.NumHeads) o["head_dim"] = c.HeadDim;
        if (c.RopeScaling is { } scaling) o["original_max_position_embeddings"] = scaling.OriginalMaxPositionEmbeddings;
        ConfigJson.WriteTokens(o, c);
        // Phi3Config defaults pad_token_id to 32000: write an explicit null so a reload keeps "no pad token".
        if (c.PadTokenId is null) o["pad_token_id"] = null;
        return o;
    }

    static JsonObject WriteLongRope(ModelConfig c, RopeScaling s)
    {
        var o = new JsonObject
        {
            ["type"] = "longrope",
            ["short_factor"] = new JsonArray(s.ShortFactor!.Select(f => (JsonNode?)f).ToArray()),
            ["long_factor"] = new JsonArray(s.LongFactor!.Select(f => (JsonNode?)f).ToArray()),
        };
        if (s.AttentionFactor is double a) o["attention_factor"] = a;
        // a factor other than max_position_embeddings / original_max_position_embeddings was given explicitly: keep it
        if (s.Factor != c.MaxPositionEmbeddings / (double)s.OriginalMaxPositionEmbeddings) o["factor"] = s.Factor;
        return o;
    }
}
