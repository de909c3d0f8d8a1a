using System.Text.Json.Nodes;

namespace Distill.Chat.Serving;

/// <summary>Pieces of OpenAI's response JSON shared by whole and streamed answers.</summary>
static class OpenAiJson
{
    /// <summary>A fresh response id: "chatcmpl-…" for chat, "cmpl-…" for completions, as OpenAI names them.</summary>
    public static string NewId(bool chat) => (chat ? "chatcmpl-" : "cmpl-") + Guid.NewGuid().ToString("N");

    public static JsonObject Usage(long input, long output)
        => new() { ["prompt_tokens"] = input, ["completion_tokens"] = output, ["total_tokens"] = input + output };
}
