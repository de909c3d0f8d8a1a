using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;

namespace Distill.Chat.Caching;

/// <summary>
/// The response-cache key: SHA-256 over the model id, every message (role and text), the options
/// that change the answer (temperature, top_p, top_k, max tokens, stop, seed) and the sample index
/// (the i-th of n samples of one prompt is a different answer). Serialised through a fixed JSON
/// shape so the key is stable across runs and machines.
/// </summary>
public static class CacheKey
{
    /// <summary>AdditionalProperties key carrying the sample index (0 when absent).</summary>
    public const string SampleIndex = "distill.sample_index";

    public static string Compute(string model, IEnumerable<ChatMessage> messages, ChatOptions? options)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("model", options?.ModelId ?? model);
            w.WriteStartArray("messages");
            foreach (var m in messages) { w.WriteStartArray(); w.WriteStringValue(m.Role.Value); w.WriteStringValue(m.Text); w.WriteEndArray(); }
            w.WriteEndArray();
            if (options?.Temperature is { } t) w.WriteNumber("temperature", t);
            if (options?.TopP is { } p) w.WriteNumber("top_p", p);
            if (options?.TopK is { } k) w.WriteNumber("top_k", k);
            if (options?.MaxOutputTokens is { } mx) w.WriteNumber("max_tokens", mx);
            if (options?.Seed is { } s) w.WriteNumber("seed", s);
            if (options?.StopSequences is { Count: > 0 } stops)
            {
                w.WriteStartArray("stop");
                foreach (var x in stops) w.WriteStringValue(x);
                w.WriteEndArray();
            }
            w.WriteNumber("sample", SampleOf(options));
            w.WriteEndObject();
        }
        return Convert.ToHexStringLower(SHA256.HashData(buffer.ToArray()));
    }

    public static int SampleOf(ChatOptions? options)
        => options?.AdditionalProperties is { } props && props.TryGetValue(SampleIndex, out var v) && v is not null
            ? Convert.ToInt32(v, System.Globalization.CultureInfo.InvariantCulture) : 0;
}
