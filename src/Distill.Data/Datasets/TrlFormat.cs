using System.Text.Json.Nodes;

namespace Distill.Data.Datasets;

/// <summary>TRL's dataset types (TRL docs, "Dataset formats and types"), those Distill's data map to.</summary>
public enum TrlType
{
    /// <summary>prompt, chosen, rejected (DPOTrainer and its relatives).</summary>
    Preference,
    /// <summary>prompt, completion (SFTTrainer).</summary>
    PromptCompletion,
    /// <summary>messages: a whole conversation (conversational language modeling; GKDTrainer's input).</summary>
    Messages,
}

/// <summary>TRL's two formats: plain strings, or lists of {role, content} messages.</summary>
public enum TrlStyle { Standard, Conversational }

/// <summary>
/// Distill's records (TRL's standard columns plus provenance columns: chosen_model, iteration, answer seeds, task_id...)
/// to and from the dataset formats TRL documents (trl 0.24 docs/source/dataset_formats.md, "Overview of the dataset
/// formats and types"):
/// <code>
///                   standard                                     conversational
/// prompt-completion {"prompt": "…", "completion": "…"}           {"prompt": [{"role": "user", …}], "completion": [{"role": "assistant", …}]}
/// preference        {"prompt": "…", "chosen": "…", "rejected": "…"}   prompt as above, chosen/rejected: [{"role": "assistant", …}]
/// messages          (conversational only)                        {"messages": [{"role": "user", …}, {"role": "assistant", …}]}
/// </code>
/// Every other column is kept as it is (TRL's trainers ignore columns they do not read), so provenance survives the
/// trip out and back. Import maps TRL's columns back to Distill's standard ones, also for conversational preference
/// with an implicit prompt (the shared leading messages of chosen and rejected, as TRL's extract_prompt takes them).
/// What cannot become one prompt string is refused, naming file, line or row, and column: a conversation whose
/// prompt is not one user turn (optionally after one system turn, kept as the "system" column).
/// </summary>
public static class TrlFormat
{
    public const string System = "system";

    public static TrlType ParseType(string s) => s switch
    {
        "preference" => TrlType.Preference,
        "prompt-completion" => TrlType.PromptCompletion,
        "messages" => TrlType.Messages,
        _ => throw new ArgumentException($"unknown TRL dataset type '{s}' (expected preference, prompt-completion or messages)"),
    };

    public static TrlStyle ParseStyle(string s) => s switch
    {
        "standard" => TrlStyle.Standard,
        "conversational" => TrlStyle.Conversational,
        _ => throw new ArgumentException($"unknown TRL dataset format '{s}' (expected standard or conversational)"),
    };

    public static string Name(TrlType t) => t switch { TrlType.Preference => "preference", TrlType.PromptCompletion => "prompt-completion", _ => "messages" };

    /// <summary>The type a Distill record has: chosen + rejected → preference, completion → prompt-completion.</summary>
    public static TrlType TypeOf(DatasetRecord r)
        => r.Json.ContainsKey("chosen") || r.Json.ContainsKey("rejected") ? TrlType.Preference
            : r.Json.ContainsKey("completion") ? TrlType.PromptCompletion
            : r.Json.ContainsKey("messages") ? TrlType.Messages
            : throw r.Error(null, "has neither chosen/rejected (preference) nor completion (prompt-completion) columns");

    /// <summary>The record in TRL's columns of <paramref name="type"/> and <paramref name="style"/>; other columns copied.</summary>
    public static JsonObject ToTrl(DatasetRecord r, TrlType type, TrlStyle style)
    {
        if (type == TrlType.Messages && style == TrlStyle.Standard)
            throw new ArgumentException("TRL's messages type is conversational only (its standard form is a single \"text\" column, which loses the prompt/completion boundary)");
        if (type != TrlType.Preference && r.Json.ContainsKey("chosen")) throw r.Error("chosen", $"is a preference column; export this file as preference, not {Name(type)}");
        string prompt = r.RequireString("prompt");
        string? system = r.OptionalString(System);
        var answers = type == TrlType.Preference ? new[] { "chosen", "rejected" } : ["completion"];
        var values = answers.ToDictionary(a => a, r.RequireString);
        var o = new JsonObject();
        if (type == TrlType.Messages)
        {
            var messages = PromptTurns(prompt, system);
            messages.Add(Turn("assistant", values["completion"]));
            o["messages"] = messages;
        }
        else if (style == TrlStyle.Standard)
        {
            o["prompt"] = prompt;
            foreach (var a in answers) o[a] = values[a];
            if (system is not null) o[System] = system;
        }
        else
        {
            o["prompt"] = PromptTurns(prompt, system);
            foreach (var a in answers) o[a] = new JsonArray(Turn("assistant", values[a]));
        }
        foreach (var (k, v) in r.Json)
            if (!o.ContainsKey(k) && k is not "prompt" and not "completion" and not "chosen" and not "rejected" and not "messages"
                && !(k == System && style == TrlStyle.Conversational))
                o[k] = v?.DeepClone();
        return o;
    }

    /// <summary>
    /// A TRL record (either format, any of the three types) in Distill's standard columns: prompt and completion, or
    /// prompt, chosen and rejected; a system turn becomes the "system" column; other columns are copied.
    /// </summary>
    public static JsonObject FromTrl(DatasetRecord r)
    {
        var o = new JsonObject();
        var j = r.Json;
        if (j.ContainsKey("messages"))
        {
            var turns = Turns(r, "messages");
            if (turns.Count < 2 || turns[^1].Role != "assistant")
                throw r.Error("messages", "must end with an assistant turn that answers the prompt (the completion)");
            SetPrompt(r, "messages", turns.Take(turns.Count - 1).ToList(), o);
            o["completion"] = turns[^1].Content;
        }
        else if (j.ContainsKey("chosen") || j.ContainsKey("rejected"))
        {
            if (j["chosen"] is JsonArray || j["rejected"] is JsonArray || j["prompt"] is JsonArray)
            {
                var chosen = Turns(r, "chosen");
                var rejected = Turns(r, "rejected");
                List<(string Role, string Content)> prompt;
                if (j.ContainsKey("prompt")) prompt = Turns(r, "prompt");
                else
                {
                    // implicit prompt: every turn but the last, shared by both answers (TRL's extract_prompt)
                    if (chosen.Count < 2 || rejected.Count != chosen.Count || !chosen.Take(chosen.Count - 1).SequenceEqual(rejected.Take(rejected.Count - 1)))
                        throw r.Error("chosen", "has no prompt column, and chosen and rejected do not share all turns but their last (an implicit prompt)");
                    prompt = chosen.Take(chosen.Count - 1).ToList();
                    chosen = chosen.Skip(chosen.Count - 1).ToList();
                    rejected = rejected.Skip(rejected.Count - 1).ToList();
                }
                SetPrompt(r, "prompt", prompt, o);
                o["chosen"] = OneAssistantTurn(r, "chosen", chosen);
                o["rejected"] = OneAssistantTurn(r, "rejected", rejected);
            }
            else
            {
                if (!j.ContainsKey("prompt"))
                    throw r.Error("prompt", "is missing: a standard preference record with an implicit prompt (chosen and rejected both holding the prompt) cannot be split reliably; give a prompt column");
                o["prompt"] = r.RequireString("prompt");
                o["chosen"] = r.RequireString("chosen");
                o["rejected"] = r.RequireString("rejected");
            }
        }
        else if (j.ContainsKey("completion"))
        {
            if (j["prompt"] is JsonArray || j["completion"] is JsonArray)
            {
                SetPrompt(r, "prompt", Turns(r, "prompt"), o);
                o["completion"] = OneAssistantTurn(r, "completion", Turns(r, "completion"));
            }
            else
            {
                o["prompt"] = r.RequireString("prompt");
                o["completion"] = r.RequireString("completion");
            }
        }
        else throw r.Error(null, "is none of TRL's prompt-completion (prompt, completion), preference (prompt, chosen, rejected) or conversational (messages) records");
        foreach (var (k, v) in j)
            if (!o.ContainsKey(k) && k is not "messages" and not "prompt" and not "completion" and not "chosen" and not "rejected")
                o[k] = v?.DeepClone();
        return o;
    }

    static JsonArray PromptTurns(string prompt, string? system)
    {
        var a = new JsonArray();
        if (system is not null) a.Add(Turn("system", system));
        a.Add(Turn("user", prompt));
        return a;
    }

    static JsonObject Turn(string role, string content) => new() { ["role"] = role, ["content"] = content };

    static void SetPrompt(DatasetRecord r, string column, List<(string Role, string Content)> turns, JsonObject o)
    {
        int i = 0;
        if (turns.Count == 2 && turns[0].Role == "system") { o[System] = turns[0].Content; i = 1; }
        if (turns.Count - i != 1 || turns[i].Role != "user")
            throw r.Error(column, $"holds a prompt of {turns.Count} turns ({string.Join(", ", turns.Select(t => t.Role))}); Distill's prompt is one user turn, optionally after one system turn");
        o["prompt"] = turns[i].Content;
    }

    static string OneAssistantTurn(DatasetRecord r, string column, List<(string Role, string Content)> turns)
        => turns is [{ Role: "assistant" } t] ? t.Content
            : throw r.Error(column, $"must be one assistant turn, got {turns.Count} ({string.Join(", ", turns.Select(t => t.Role))})");

    static List<(string Role, string Content)> Turns(DatasetRecord r, string column)
    {
        if (r.Json[column] is not JsonArray a) throw r.Error(column, r.Json.ContainsKey(column) ? "is not a list of {role, content} messages" : "is missing");
        var list = new List<(string, string)>();
        for (int i = 0; i < a.Count; i++)
        {
            if (a[i] is not JsonObject m || m["role"] is not JsonValue rv || !rv.TryGetValue<string>(out var role)
                || m["content"] is not JsonValue cv || !cv.TryGetValue<string>(out var content))
                throw r.Error(column, $"message {i} is not {{\"role\": string, \"content\": string}}");
            list.Add((role, content));
        }
        return list;
    }
}
