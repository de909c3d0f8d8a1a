using System.Text.Json;
using System.Text.Json.Nodes;

namespace Distill.Text.ChatTemplate;

/// <summary>
/// A Hugging Face chat_template (Jinja) compiled once and rendered per conversation, as
/// transformers' apply_chat_template does: variables messages, add_generation_prompt, bos_token,
/// eos_token (plus any extra, e.g. tools, enable_thinking). Supported subset: see JinjaParser;
/// anything outside it is a ChatTemplateException naming the construct — never a wrong prompt.
/// </summary>
public sealed class ChatTemplate
{
    readonly List<Node> _template;

    public ChatTemplate(string source, string? bosToken = null, string? eosToken = null)
    {
        Source = source; BosToken = bosToken; EosToken = eosToken;
        _template = JinjaParser.Parse(source);
    }

    public string Source { get; }
    public string? BosToken { get; }
    public string? EosToken { get; }

    /// <summary>Reads chat_template, bos_token and eos_token from a tokenizer_config.json (file or folder).</summary>
    public static ChatTemplate FromConfig(string path)
    {
        string file = Directory.Exists(path) ? Path.Combine(path, "tokenizer_config.json") : path;
        var config = JsonNode.Parse(File.ReadAllText(file)) as JsonObject ?? throw new FormatException($"{file}: not a JSON object");
        string template = config["chat_template"] switch
        {
            JsonValue v when v.TryGetValue<string>(out var s) => s,
            JsonArray a => a.OfType<JsonObject>().FirstOrDefault(o => (string?)o["name"] == "default")?["template"]?.GetValue<string>()
                ?? throw new FormatException($"{file}: chat_template list has no \"default\" entry"),
            _ => throw new FormatException($"{file}: no chat_template"),
        };
        return new ChatTemplate(template, TokenText(config["bos_token"]), TokenText(config["eos_token"]));
    }

    /// <summary>
    /// The chat template of a model folder, or null when it has none: no tokenizer_config.json, or no
    /// "chat_template" key, or "chat_template": null. A template that exists but is malformed is an error,
    /// never a silent fallback.
    /// </summary>
    public static ChatTemplate? FromModelFolder(string dir)
    {
        string file = Path.Combine(dir, "tokenizer_config.json");
        if (!File.Exists(file)) return null;
        return JsonNode.Parse(File.ReadAllText(file)) is JsonObject json && json["chat_template"] is not null ? FromConfig(file) : null;
    }

    static string? TokenText(JsonNode? n) => n switch
    {
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        JsonObject o => (string?)o["content"],
        _ => null,
    };

    /// <summary>Renders messages given as JSON ([{"role": ..., "content": ...}, ...]).</summary>
    public string Render(JsonArray messages, bool addGenerationPrompt, JsonObject? extra = null)
    {
        var globals = new Dictionary<string, object?>
        {
            ["messages"] = FromJson(messages),
            ["add_generation_prompt"] = addGenerationPrompt,
            ["bos_token"] = BosToken ?? "",
            ["eos_token"] = EosToken ?? "",
        };
        if (extra != null) foreach (var (k, v) in extra) globals[k] = FromJson(v);
        return JinjaInterpreter.Render(_template, globals);
    }

    public string Render(IEnumerable<(string Role, string Content)> messages, bool addGenerationPrompt) =>
        Render(new JsonArray(messages.Select(m => (JsonNode)new JsonObject { ["role"] = m.Role, ["content"] = m.Content }).ToArray()), addGenerationPrompt);

    static object? FromJson(JsonNode? n) => n switch
    {
        null => null,
        JsonArray a => a.Select(FromJson).ToList(),
        JsonObject o => o.ToDictionary(p => p.Key, p => FromJson(p.Value)),
        JsonValue v => v.GetValueKind() switch
        {
            JsonValueKind.String => v.GetValue<string>(),
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            JsonValueKind.Number => v.TryGetValue<long>(out var l) ? l : v.GetValue<double>(),
            _ => null,
        },
        _ => null,
    };
}
