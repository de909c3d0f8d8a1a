using System.Text.Json;
using System.Text.Json.Nodes;

namespace Distill.Models.Formats;

/// <summary>
/// Typed access to a config.json object with transformers' semantics: an absent key or JSON null takes
/// the class default; a value of the wrong type is an error naming the file and the key.
/// </summary>
public sealed class ConfigJsonReader(JsonObject json, string file)
{
    readonly HashSet<string> _read = new(StringComparer.Ordinal);

    public string File { get; } = file;
    public JsonObject Json { get; } = json;

    /// <summary>
    /// The keys a family reader looked at (through any accessor) or declared inert with <see cref="Accept"/>;
    /// <see cref="ConfigKeys.CheckAllRead"/> refuses any other key that is not known to leave the numerics alone.
    /// </summary>
    public IReadOnlyCollection<string> ReadKeys => _read;

    /// <summary>Marks keys as handled: read elsewhere, or inert given the values of the keys that were read.</summary>
    public void Accept(params string[] keys)
    {
        foreach (var k in keys) _read.Add(k);
    }

    /// <summary>The raw value of a key (marking it read); null when absent or JSON null.</summary>
    public JsonNode? Node(string key)
    {
        _read.Add(key);
        return Json[key];
    }

    public static ConfigJsonReader Load(string path)
    {
        JsonNode? node;
        try { node = JsonNode.Parse(System.IO.File.ReadAllText(path)); }
        catch (JsonException e) { throw new ModelFormatException($"{path}: not valid JSON ({e.Message})"); }
        return node is JsonObject obj ? new ConfigJsonReader(obj, path) : throw new ModelFormatException($"{path}: not a JSON object");
    }

    public bool Has(string key) => Node(key) is not null;

    /// <summary>The key is written, possibly as null (an explicit null overrides a class default, as in Python).</summary>
    public bool Present(string key)
    {
        _read.Add(key);
        return Json.ContainsKey(key);
    }

    JsonValue? Value(string key, string expected)
    {
        var node = Node(key);
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

    public double Double(string key, double fallback) => OptionalDouble(key) ?? fallback;

    public double? OptionalDouble(string key)
    {
        var v = Value(key, "a number");
        if (v is null) return null;
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
        var node = Node(key);
        if (node is null) return [];
        if (node is JsonArray arr)
            return arr.Select((e, i) => e is JsonValue v && v.TryGetValue(out int x) ? x
                : throw new ModelFormatException($"{File}: '{key}[{i}]' must be an integer")).ToArray();
        return [OptionalInt(key)!.Value];
    }

    /// <summary>Fails when an option this implementation does not model is set to a non-default value.</summary>
    public void RequireDefault(string key, bool expected)
    {
        if (Has(key) && Bool(key, expected) != expected)
            throw new ModelFormatException($"{File}: '{key}' = {(!expected).ToString().ToLowerInvariant()} is not supported");
    }
}
