using System.ClientModel;
using System.ClientModel.Primitives;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using OpenAI;
using OpenAI.Chat;
using AIChatMessage = Microsoft.Extensions.AI.ChatMessage;
using AIChatRole = Microsoft.Extensions.AI.ChatRole;
using AIFinishReason = Microsoft.Extensions.AI.ChatFinishReason;

namespace Distill.Chat.Clients;

/// <summary>
/// <see cref="IChatClient"/> over the official OpenAI SDK's <see cref="ChatClient"/>, for any
/// OpenAI-compatible endpoint (Microsoft.Extensions.AI.OpenAI, which would provide this, is not
/// available to us). The SDK's own retries are switched off: <see cref="Resilience.RetryingChatClient"/>
/// owns retrying, so a request is never silently paid twice.
/// </summary>
public sealed class OpenAICompatibleChatClient : IChatClient
{
    readonly ChatClient _client;
    readonly ChatClientMetadata _metadata;

    public OpenAICompatibleChatClient(string model, string apiKey, Uri? baseUrl = null, TimeSpan? networkTimeout = null)
    {
        var options = new OpenAIClientOptions
        {
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
            NetworkTimeout = networkTimeout ?? TimeSpan.FromMinutes(2),
        };
        if (baseUrl is not null) options.Endpoint = baseUrl;
        _client = new ChatClient(model, new ApiKeyCredential(apiKey), options);
        _metadata = new ChatClientMetadata("openai", baseUrl ?? new Uri("https://api.openai.com/v1"), model);
    }

    public async Task<ChatResponse> GetResponseAsync(IEnumerable<AIChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var result = await _client.CompleteChatAsync(ToOpenAI(messages), ToOpenAI(options), cancellationToken).ConfigureAwait(false);
        var completion = result.Value;
        var text = string.Concat(completion.Content.Select(p => p.Text));
        return new ChatResponse(new AIChatMessage(AIChatRole.Assistant, text))
        {
            ModelId = completion.Model,
            ResponseId = completion.Id,
            CreatedAt = completion.CreatedAt,
            FinishReason = ToFinishReason(completion.FinishReason),
            Usage = completion.Usage is { } u
                ? new UsageDetails { InputTokenCount = u.InputTokenCount, OutputTokenCount = u.OutputTokenCount, TotalTokenCount = u.TotalTokenCount }
                : null,
        };
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<AIChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var update in _client.CompleteChatStreamingAsync(ToOpenAI(messages), ToOpenAI(options), cancellationToken).ConfigureAwait(false))
        {
            var text = string.Concat(update.ContentUpdate.Select(p => p.Text));
            var u = new ChatResponseUpdate(AIChatRole.Assistant, text)
            {
                ModelId = update.Model,
                ResponseId = update.CompletionId,
                FinishReason = update.FinishReason is { } f ? ToFinishReason(f) : null,
            };
            if (update.Usage is { } usage)
                u.Contents.Add(new UsageContent(new UsageDetails { InputTokenCount = usage.InputTokenCount, OutputTokenCount = usage.OutputTokenCount, TotalTokenCount = usage.TotalTokenCount }));
            yield return u;
        }
    }

    static List<OpenAI.Chat.ChatMessage> ToOpenAI(IEnumerable<AIChatMessage> messages)
    {
        var list = new List<OpenAI.Chat.ChatMessage>();
        foreach (var m in messages)
        {
            var text = m.Text;
            if (m.Role == AIChatRole.System) list.Add(new SystemChatMessage(text));
            else if (m.Role == AIChatRole.User) list.Add(new UserChatMessage(text));
            else if (m.Role == AIChatRole.Assistant) list.Add(new AssistantChatMessage(text));
            else throw new NotSupportedException($"chat role '{m.Role}' is not supported by the OpenAI-compatible client");
        }
        return list;
    }

    static ChatCompletionOptions ToOpenAI(ChatOptions? o)
    {
        var options = new ChatCompletionOptions();
        if (o is null) return options;
        options.Temperature = o.Temperature;
        options.TopP = o.TopP;
        options.MaxOutputTokenCount = o.MaxOutputTokens;
        if (o.StopSequences is { Count: > 0 } stops) foreach (var s in stops) options.StopSequences.Add(s);
#pragma warning disable OPENAI001 // Seed is marked experimental in the SDK; endpoints honour it on a best-effort basis.
        options.Seed = o.Seed;
#pragma warning restore OPENAI001
        return options;
    }

    static AIFinishReason ToFinishReason(OpenAI.Chat.ChatFinishReason reason) => reason switch
    {
        OpenAI.Chat.ChatFinishReason.Stop => AIFinishReason.Stop,
        OpenAI.Chat.ChatFinishReason.Length => AIFinishReason.Length,
        OpenAI.Chat.ChatFinishReason.ContentFilter => AIFinishReason.ContentFilter,
        _ => AIFinishReason.ToolCalls,
    };

    public object? GetService(Type serviceType, object? serviceKey = null)
        => serviceKey is null && serviceType == typeof(ChatClientMetadata) ? _metadata
         : serviceKey is null && serviceType.IsInstanceOfType(this) ? this : null;

    public void Dispose() { }
}
