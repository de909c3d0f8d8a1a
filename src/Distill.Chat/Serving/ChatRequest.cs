using System.Text.Json;
using Microsoft.Extensions.AI;

namespace Distill.Chat.Serving;

/// <summary>A request that breaks the OpenAI API's rules: becomes a 400 with OpenAI's error JSON.</summary>
public sealed class BadRequestException(string message, string? param) : Exception(message)
{
    public string? Param { get; } = param;
}

/// <summary>
/// The fields of POST /v1/chat/completions and /v1/completions that Distill honours, validated
/// with the OpenAI API reference's ranges (temperature 0–2, top_p 0–1, at most 4 stop strings).
/// </summary>
public sealed record ChatRequest(string? Model, List<ChatMessage> Messages, ChatOptions Options, int N, bool Stream, bool IncludeUsageInStream)
{
    public const int MaxN = 16;

    public static ChatRequest ParseChat(JsonElement body) => Parse(body, chat: true);

    public static ChatRequest ParseCompletion(JsonElement body) => Parse(body, chat: false);

    static ChatRequest Parse(JsonElement body, bool chat)
    {
        if (body.ValueKind != JsonValueKind.Object) throw new BadRequestException("the request body must be a JSON object", null);
        var messages = chat ? ParseMessages(body) : [new ChatMessage(ChatRole.User, ParsePrompt(body))];
        var options = new ChatOptions();
        string? model = OptionalString(body, "model");
        options.ModelId = model;
        if (OptionalNumber(body, "temperature") is { } t) options.Temperature = (float)Range(t, 0, 2, "temperature");
        if (OptionalNumber(body, "top_p") is { } p) options.TopP = (float)Range(p, 0, 1, "top_p");
        var maxTokens = OptionalInt(body, "max_completion_tokens") ?? OptionalInt(body, "max_tokens");
        if (maxTokens is { } mt) options.MaxOutputTokens = mt >= 1 ? mt : throw new BadRequestException("max_tokens must be at least 1", "max_tokens");
        if (OptionalInt(body, "seed") is { } seed) options.Seed = seed;
        if (body.TryGetProperty("stop", out var stop) && stop.ValueKind != JsonValueKind.Null)
        {
            var stops = stop.ValueKind switch
            {
                JsonValueKind.String => [stop.GetString()!],
                JsonValueKind.Array => stop.EnumerateArray().Select(s => s.ValueKind == JsonValueKind.String ? s.GetString()! : throw new BadRequestException("stop must be a string or an array of strings", "stop")).ToList(),
                _ => throw new BadRequestException("stop must be a string or an array of strings", "stop"),
            };
            if (stops.Count > 4) throw new BadRequestException("stop may hold at most 4 sequences", "stop");
            if (stops.Any(s => s.Length == 0)) throw new BadRequestException("stop sequences must not be empty", "stop");
            options.StopSequences = stops;
        }
        int n = OptionalInt(body, "n") ?? 1;
        if (n < 1 || n > MaxN) throw new BadRequestException($"n must be between 1 and {MaxN}", "n");
        bool stream = body.TryGetProperty("stream", out var s) && s.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False or JsonValueKind.Null => false,
            _ => throw new BadRequestException("stream must be a boolean", "stream"),
        };
        bool includeUsage = body.TryGetProperty("stream_options", out var so) && so.ValueKind == JsonValueKind.Object
            && so.TryGetProperty("include_usage", out var iu) && iu.ValueKind == JsonValueKind.True;
        return new ChatRequest(model, messages, options, n, stream, includeUsage);
    }

    static List<ChatMessage> ParseMessages(JsonElement body)
    {
        if (!body.TryGetProperty("messages", out var arr) || arr.ValueKind != JsonValueKind.Array)
            throw new BadRequestException("'messages' is required and must be an array", "messages");
        if (arr.GetArrayLength() == 0) throw new BadRequestException("'messages' must not be empty", "messages");
        var list = new List<ChatMessage>();
        int i = 0;
        foreach (var m in arr.EnumerateArray())
        {
            var where = $"messages[{i++}]";
            if (m.ValueKind != JsonValueKind.Object) throw new BadRequestException($"{where} must be an object", where);
            var role = OptionalString(m, "role") ?? throw new BadRequestException($"{where}.role is required", $"{where}.role");
            var chatRole = role switch
            {
                "system" or "developer" => ChatRole.System,
                "user" => ChatRole.User,
                "assistant" => ChatRole.Assistant,
                _ => throw new BadRequestException($"{where}.role '{role}' is not one of system, developer, user, assistant", $"{where}.role"),
            };
            list.Add(new ChatMessage(chatRole, ContentText(m, where)));
        }
        return list;
    }

    static string ContentText(JsonElement m, string where)
    {
        if (!m.TryGetProperty("content", out var c)) throw new BadRequestException($"{where}.content is required", $"{where}.content");
        return c.ValueKind switch
        {
            JsonValueKind.String => c.GetString()!,
            JsonValueKind.Array => string.Concat(c.EnumerateArray().Select(part =>
                part.ValueKind == JsonValueKind.Object && OptionalString(part, "type") == "text" && OptionalString(part, "text") is { } text
                    ? text : throw new BadRequestException($"{where}.content: only text parts are supported", $"{where}.content"))),
            _ => throw new BadRequestException($"{where}.content must be a string or an array of text parts", $"{where}.content"),
        };
    }

    static string ParsePrompt(JsonElement body)
    {
        if (!body.TryGetProperty("prompt", out var p)) throw new BadRequestException("'prompt' is required", "prompt");
        if (p.ValueKind == JsonValueKind.String) return p.GetString()!;
        if (p.ValueKind == JsonValueKind.Array && p.GetArrayLength() == 1 && p[0].ValueKind == JsonValueKind.String) return p[0].GetString()!;
        throw new BadRequestException("'prompt' must be a string (batched prompts are not supported)", "prompt");
    }

    static string? OptionalString(JsonElement o, string name)
        => !o.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null ? null
         : v.ValueKind == JsonValueKind.String ? v.GetString() : throw new BadRequestException($"{name} must be a string", name);

    static double? OptionalNumber(JsonElement o, string name)
        => !o.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null ? null
         : v.ValueKind == JsonValueKind.Number ? v.GetDouble() : throw new BadRequestException($"{name} must be a number", name);

    static int? OptionalInt(JsonElement o, string name)
        => !o.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null ? null
         : v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var i) ? i : throw new BadRequestException($"{name} must be an integer", name);

    static double Range(double v, double lo, double hi, string name)
        => v >= lo && v <= hi ? v : throw new BadRequestException($"{name} must be between {lo} and {hi}", name);
}
