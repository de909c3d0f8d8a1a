using System.Text.Json.Nodes;

namespace Distill.Models.Formats;

/// <summary>
/// The RoPE keys of config.json, in both generations of transformers' configs:
/// <list type="bullet">
/// <item>transformers 4: top-level <c>rope_theta</c>, <c>rope_scaling</c> ({"rope_type"|"type", "factor", ...} or null) and,
/// for Phi/Phi-3, <c>partial_rotary_factor</c>;</item>
/// <item>transformers 5: <c>rope_parameters</c> holding <c>rope_theta</c>, <c>rope_type</c>, <c>partial_rotary_factor</c>
/// and the scaling fields, or one such dict per layer type ({"full_attention": {...}, "sliding_attention": {...}}) when
/// its keys are the model's <c>layer_types</c> (modeling_rope_utils.py RotaryEmbeddingConfigMixin.standardize_rope_params).</item>
/// </list>
/// transformers 5 reads a 4-style config by moving the top-level values into rope_parameters with
/// <c>setdefault</c> (convert_rope_params_to_dict), so a value inside rope_parameters wins over a top-level one, while
/// transformers 4 never looks at rope_parameters. Where the two places disagree the two generations compute
/// different rotations, so that is refused, naming both keys; otherwise both are read alike.
/// </summary>
public static class RopeConfigJson
{
    /// <summary>Layer types transformers uses as rope_parameters keys (configuration_utils.py ALLOWED_LAYER_TYPES, the attention ones).</summary>
    static readonly string[] KnownLayerTypes = ["full_attention", "sliding_attention", "chunked_attention", "linear_attention"];

    /// <summary>What config.json says about RoPE once both generations are merged.</summary>
    /// <param name="Theta">rope_theta (the family default when absent).</param>
    /// <param name="Scaling">The scaling dict (rope_scaling or rope_parameters), null for plain RoPE.</param>
    /// <param name="ScalingKey">Its key path for error messages: "rope_scaling", "rope_parameters" or "rope_parameters.full_attention".</param>
    /// <param name="PartialRotaryFactor">partial_rotary_factor from rope_parameters or the top level, null when absent.</param>
    /// <param name="V5">True when the config carries rope_parameters (written by transformers 5).</param>
    public sealed record Rope(double Theta, JsonObject? Scaling, string ScalingKey, double? PartialRotaryFactor, bool V5);

    public static Rope Read(ConfigJsonReader r, double defaultTheta = 10000.0)
    {
        double? topTheta = r.OptionalDouble("rope_theta");
        double? topPartial = r.OptionalDouble("partial_rotary_factor");
        var topScaling = r.Node("rope_scaling") switch
        {
            null => null,
            JsonObject o => o,
            var n => throw new ModelFormatException($"{r.File}: 'rope_scaling' must be an object or null, got {n.ToJsonString()}"),
        };
        var node = r.Node("rope_parameters");
        if (node is null) return new Rope(topTheta ?? defaultTheta, topScaling, "rope_scaling", topPartial, V5: false);
        if (node is not JsonObject p) throw new ModelFormatException($"{r.File}: 'rope_parameters' must be an object or null, got {node.ToJsonString()}");

        string key = "rope_parameters";
        if (PerLayerType(r, p) is { } types)
        {
            // One dict per layer type. Distill has one rotary table per model: equal dicts are one RoPE; different ones are not implemented.
            var first = p[types[0]] as JsonObject;
            foreach (var t in types)
            {
                if (p[t] is not JsonObject d)
                    throw new ModelFormatException($"{r.File}: 'rope_parameters' has no entry for layer type '{t}' (layer_types uses it)");
                if (!JsonNode.DeepEquals(d, first))
                    throw new ModelFormatException($"{r.File}: 'rope_parameters' gives layer types '{types[0]}' and '{t}' different RoPE "
                        + $"({first!.ToJsonString()} vs {d.ToJsonString()}); per-layer-type RoPE is not implemented");
            }
            p = first!;
            key = $"rope_parameters.{types[0]}";
        }
        var inner = new ConfigJsonReader(p, r.File);
        double? theta = Agree(r, inner, key, "rope_theta", topTheta);
        double? partial = Agree(r, inner, key, "partial_rotary_factor", topPartial);
        if (topScaling is not null && !SameScaling(topScaling, p))
            throw new ModelFormatException($"{r.File}: 'rope_scaling' {topScaling.ToJsonString()} and '{key}' {p.ToJsonString()} disagree "
                + "(transformers 4 reads the first, transformers 5 lets rope_scaling replace rope_parameters); keep one");
        return new Rope(theta ?? defaultTheta, p, key, partial, V5: true);
    }

    /// <summary>The layer types when <paramref name="p"/> is a per-layer-type dict, else null (standardize_rope_params' test).</summary>
    static string[]? PerLayerType(ConfigJsonReader r, JsonObject p)
    {
        if (p.Count == 0 || p.Any(kv => kv.Value is not JsonObject)) return null;
        var declared = r.Json["layer_types"] is JsonArray a
            ? a.Select(n => n is JsonValue v && v.TryGetValue(out string? s) ? s : null).OfType<string>().Distinct().ToArray()
            : null;
        var allowed = declared ?? KnownLayerTypes;
        if (!p.All(kv => allowed.Contains(kv.Key))) return null;
        return declared ?? p.Select(kv => kv.Key).ToArray();
    }

    static double? Agree(ConfigJsonReader top, ConfigJsonReader inner, string key, string name, double? topValue)
    {
        double? v = inner.OptionalDouble(name);
        if (v is not null && topValue is not null && v != topValue)
            throw new ModelFormatException($"{top.File}: '{name}' ({topValue}) and '{key}.{name}' ({v}) disagree "
                + "(transformers 4 reads the first, transformers 5 the second); keep one");
        return v ?? topValue;
    }

    /// <summary>rope_scaling and rope_parameters say the same, up to rope_theta / partial_rotary_factor and the type/rope_type alias.</summary>
    static bool SameScaling(JsonObject a, JsonObject b)
    {
        static Dictionary<string, string> Norm(JsonObject o)
        {
            var d = o.Where(kv => kv.Key is not ("rope_theta" or "partial_rotary_factor" or "type" or "rope_type") && kv.Value is not null)
                .ToDictionary(kv => kv.Key, kv => kv.Value!.ToJsonString());
            d["rope_type"] = TypeOf(o) ?? "default";
            return d;
        }
        var (x, y) = (Norm(a), Norm(b));
        return x.Count == y.Count && x.All(kv => y.TryGetValue(kv.Key, out var v) && v == kv.Value);
    }

    static string? TypeOf(JsonObject o)
    {
        foreach (var k in (string[])["rope_type", "type"])
            if (o[k] is JsonValue v && v.TryGetValue(out string? s)) return s;
        return null;
    }

    /// <summary>
    /// The scaling dict's type: rope_type, else its original name "type" (BC in transformers), else "default".
    /// Both given and different is an error.
    /// </summary>
    public static string ScalingType(JsonObject s, string key, string file)
    {
        var r = new ConfigJsonReader(s, file);
        string? a = r.Has("rope_type") ? r.String("rope_type", "") : null, b = r.Has("type") ? r.String("type", "") : null;
        if (a is not null && b is not null && a != b)
            throw new ModelFormatException($"{file}: '{key}.rope_type' '{a}' and '{key}.type' '{b}' disagree");
        return a ?? b ?? "default";
    }

    /// <summary>Fails on a key of the scaling dict that the rope type does not read (it would change the rotation elsewhere).</summary>
    public static void RequireOnly(JsonObject s, string key, string file, string type, params string[] allowed)
    {
        foreach (var (k, _) in s)
            if (k is not ("rope_type" or "type" or "rope_theta" or "partial_rotary_factor") && !allowed.Contains(k))
                throw new ModelFormatException($"{file}: '{key}.{k}' is not implemented for rope_type '{type}' (read: {string.Join(", ", allowed.DefaultIfEmpty("none"))})");
    }

    /// <summary>
    /// The scaling of the Llama family and Phi: none ("default"), "linear" or "llama3" (modeling_rope_utils.py
    /// _compute_linear_scaling_rope_parameters / _compute_llama3_parameters). <paramref name="topOriginalMax"/> is a top-level
    /// original_max_position_embeddings: transformers 5 lets it win over the dict's for llama3 (standardize_rope_params),
    /// transformers 4 reads the dict's, so they must agree.
    /// </summary>
    public static RopeScaling? ReadScaling(Rope rope, string file, int? topOriginalMax)
    {
        if (rope.Scaling is not { } s) return null;
        string key = rope.ScalingKey, type = ScalingType(s, key, file);
        var r = new ConfigJsonReader(s, file);
        double Required(string k) => r.Has(k) ? r.Double(k, 0) : throw new ModelFormatException($"{file}: '{key}.{k}' is required for rope_type '{type}'");
        switch (type)
        {
            case "default":
                // transformers ignores a factor on plain RoPE (_compute_default_rope_parameters reads none)
                RequireOnly(s, key, file, type, "factor");
                return null;
            case "linear":
                RequireOnly(s, key, file, type, "factor");
                return new RopeScaling("linear", Required("factor"));
            case "llama3":
                RequireOnly(s, key, file, type, "factor", "low_freq_factor", "high_freq_factor", "original_max_position_embeddings");
                double factor = Required("factor"), low = Required("low_freq_factor"), high = Required("high_freq_factor");
                int originalMax = (int)Required("original_max_position_embeddings");
                if (topOriginalMax is int top && top != originalMax)
                    throw new ModelFormatException($"{file}: 'original_max_position_embeddings' ({top}) and '{key}.original_max_position_embeddings' ({originalMax}) disagree "
                        + "(transformers 5 reads the first, transformers 4 the second); keep one");
                var scaling = new RopeScaling("llama3", factor, low, high, originalMax);
                if (scaling.HighFreqFactor <= scaling.LowFreqFactor)
                    throw new ModelFormatException($"{file}: '{key}.high_freq_factor' must exceed 'low_freq_factor'");
                return scaling;
            default:
                throw new ModelFormatException($"{file}: '{key}' type '{type}' is not supported (supported: default, linear, llama3)");
        }
    }
}
