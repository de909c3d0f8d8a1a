using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.AI;

namespace Distill.Chat.Serving;

/// <summary>
/// stream: true — server-sent events as OpenAI sends them: one `data: {chunk}` event per delta,
/// a final chunk with finish_reason, an optional usage chunk (stream_options.include_usage), then
/// `data: [DONE]`. With n > 1 the choices stream one after another, each with its index.
/// </summary>
static class Streamer
{
    public static async Task WriteAsync(HttpContext ctx, IChatClient model, ChatRequest request, string modelName, bool chat)
    {
        ctx.Response.ContentType = "text/event-stream";
        ctx.Response.Headers.CacheControl = "no-cache";
        var id = OpenAiJson.NewId(chat);
        long created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        long input = 0, output = 0;
        var name = request.Model ?? modelName;
        for (int i = 0; i < request.N; i++)
        {
            ChatFinishReason? finish = null;
            bool first = true;
            await foreach (var u in model.GetStreamingResponseAsync(request.Messages, OpenAiServer.Sample(request.Options, i), ctx.RequestAborted))
            {
                foreach (var usage in u.Contents.OfType<UsageContent>())
                {
                    input = usage.Details.InputTokenCount ?? input;
                    output += usage.Details.OutputTokenCount ?? 0;
                }
                finish = u.FinishReason ?? finish;
                if (string.IsNullOrEmpty(u.Text) && !first) continue;
                await Send(ctx, Chunk(id, created, name, chat, i, u.Text ?? "", first, null));
                first = false;
            }
            await Send(ctx, Chunk(id, created, name, chat, i, null, false, FinishReason(finish)));
        }
        if (request.IncludeUsageInStream)
            await Send(ctx, new JsonObject
            {
                ["id"] = id, ["object"] = chat ? "chat.completion.chunk" : "text_completion", ["created"] = created, ["model"] = name,
                ["choices"] = new JsonArray(),
                ["usage"] = OpenAiJson.Usage(input, output),
            });
        await ctx.Response.WriteAsync("data: [DONE]\n\n", ctx.RequestAborted);
        await ctx.Response.Body.FlushAsync(ctx.RequestAborted);
    }

    static JsonObject Chunk(string id, long created, string model, bool chat, int index, string? text, bool withRole, string? finish)
    {
        JsonObject choice;
        if (chat)
        {
            var delta = new JsonObject();
            if (withRole) delta["role"] = "assistant";
            if (text is not null) delta["content"] = text;
            choice = new JsonObject { ["index"] = index, ["delta"] = delta, ["finish_reason"] = finish, ["logprobs"] = null };
        }
        else choice = new JsonObject { ["index"] = index, ["text"] = text ?? "", ["finish_reason"] = finish, ["logprobs"] = null };
        return new JsonObject
        {
            ["id"] = id, ["object"] = chat ? "chat.completion.chunk" : "text_completion", ["created"] = created, ["model"] = model,
            ["choices"] = new JsonArray(choice),
        };
    }

    static async Task Send(HttpContext ctx, JsonObject chunk)
    {
        await ctx.Response.WriteAsync("data: " + chunk.ToJsonString() + "\n\n", ctx.RequestAborted);
        await ctx.Response.Body.FlushAsync(ctx.RequestAborted);
    }

    public static string FinishReason(ChatFinishReason? reason)
        => reason == ChatFinishReason.Length ? "length" : reason == ChatFinishReason.ContentFilter ? "content_filter" : "stop";
}
