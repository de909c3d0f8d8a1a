using System.Text.Json;
using System.Text.Json.Nodes;

namespace Distill.Models.Formats;

/// <summary>
/// Typed access to a config.json object with transformers' semantics: an absent key or JSON null takes
/// the class default; a value of the wrong type is an error naming the file and the key.
/// </summary>
public sealed class ConfigJsonReader(JsonObject json, string file)
{
    public string File { get; } = file;
    public JsonObject Json { get; } = json;

    public static ConfigJsonReader Load(string path)
    {
        JsonNode? node;
        try { node = JsonNode.Parse(System.IO.File.ReadAllText(path)); }
        catch (JsonException e) { throw new ModelFormatException($"{path}: not valid JSON ({e.Message})"); }
        return node is JsonObject obj ? new ConfigJsonReader(obj, path) : throw new ModelFormatException($"{path}: not a JSON object");
    }

    public bool Has(string key) => Json[key] is not null;

    /// <summary>The key is written, possibly as null (an explicit null overrides a class default, as in Python).</summary>
    public bool Present(string key) => Json.ContainsKey(key);

    JsonValue? Value(string key, string expected)
    {
        var node = Json[key];
        if (node is null) return null;
        return node as JsonValue ?? throw new ModelFormatException($"{File}: '{key}' must be {expected}, got {node.ToJsonString()}");
    }

    public int Int(string key, int fallback) => OptionalInt(key) ?? fallback;

    public int? OptionalInt(string key)
    {
        var v = Value(key, "an integer");
        if (v is null) return null;
        if (v.TryGetValue(out int i)) return i;
        // transformers accepts 2048.0 for an int field; so do we, when it is integral.
        if (v.TryGetValue(out double d) && d == Math.Floor(d) && Math.Abs(d) < int.MaxValue) return (int)d;
        throw new ModelFormatException($"{File}: '{key}' must be an integer, got {v.ToJsonString()}");
    }

    public double Double(string key, double fallback)
    {
        var v = Value(key, "a number");
        if (v is null) return fallback;
        return v.TryGetValue(out double d) ? d : throw new ModelFormatException($"{File}: '{key}' must be a number, got {v.ToJsonString()}");
    }

    public bool Bool(string key, bool fallback)
    {
        var v = Value(key, "true or false");
        if (v is null) return fallback;
        return v.TryGetValue(out bool b) ? b : throw new ModelFormatException($"{File}: '{key}' must be true or false, got {v.ToJsonString()}");
    }

    public string String(string key, string fallback)
    {
        var v = Value(key, "a string");
        if (v is null) return fallback;
        return v.TryGetValue(out string? s) ? s : throw new ModelFormatException($"{File}: '{key}' must be a string, got {v.ToJsonString()}");
    }

    /// <summary>eos_token_id may be an integer or a list of integers (Llama 3).</summary>
    public int[] IntOrList(string key)
    {
        var node = Json[key];
        if (node is null) return [];
        if (node is JsonArray arr)
            return arr.Select((e, i) => e is JsonValue v && v.TryGetValue(out int x) ? x
                : throw new ModelFormatException($"{File}: '{key}[{i}]' must be an integer")).ToArray();
        return [OptionalInt(key)!.Value];
    }

    /// <summary>rope_scaling: null, or {"rope_type"|"type": "linear"|"llama3", ...}; any other type names the key.</summary>
    public RopeScaling? ReadRopeScaling()
    {
        var node = Json["rope_scaling"];
        if (node is null) return null;
        if (node is not JsonObject obj) throw new ModelFormatException($"{File}: 'rope_scaling' must be an object or null");
        var r = new ConfigJsonReader(obj, File);
        // BC in transformers: "rope_type" was originally "type".
        string type = r.Has("rope_type") ? r.String("rope_type", "") : r.String("type", "default");
        double Required(string k) => r.Has(k) ? r.Double(k, 0) : throw new ModelFormatException($"{File}: 'rope_scaling.{k}' is required for rope_type '{type}'");
        switch (type)
        {
            case "default":
                return null;
            case "linear":
                return new RopeScaling("linear", Required("factor"));
            case "llama3":
                var s = new RopeScaling("llama3", Required("factor"), Required("low_freq_factor"), Required("high_freq_factor"),
                    (int)Required("original_max_position_embeddings"));
                if (s.HighFreqFactor <= s.LowFreqFactor)
                    throw new ModelFormatException($"{File}: 'rope_scaling.high_freq_factor' must exceed 'low_freq_factor'");
                return s;
            default:
                throw new ModelFormatException($"{File}: 'rope_scaling' type '{type}' is not supported (supported: linear, llama3)");
        }
    }

    /// <summary>Fails when an option this implementation does not model is set to a non-default value.</summary>
    public void RequireDefault(string key, bool expected)
    {
        if (Has(key) && Bool(key, expected) != expected)
            throw new ModelFormatException($"{File}: '{key}' = {(!expected).ToString().ToLowerInvariant()} is not supported");
    }
}
