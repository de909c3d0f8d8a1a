using System.ClientModel;
using System.ClientModel.Primitives;
using Anthropic;
using Microsoft.Extensions.AI;
using OpenAI;
using OpenAI.Chat;
using Distill.Chat.Clients;

namespace Distill.Chat;

/// <summary>
/// Turns a <see cref="ModelReference"/> into the bare upstream <see cref="IChatClient"/>; compose it
/// with <see cref="ChatPipeline"/> (cache, accounting, concurrency, retries, logging). Keys come from
/// the environment (OPENAI_API_KEY / ANTHROPIC_API_KEY, or the variable a recipe names) and are
/// handed to the SDK only: they are never logged, cached or written (FaultInjectionTests check this).
/// </summary>
public static class ChatClientFactory
{
    public static IChatClient Create(ModelReference reference, string? apiKeyVariable = null, TimeSpan? networkTimeout = null, string? adapter = null,
        Distill.Models.InferenceWeights weights = Distill.Models.InferenceWeights.F32)
    {
        switch (reference.Provider)
        {
            case ModelProvider.OpenAI:
            {
                var variable = apiKeyVariable ?? "OPENAI_API_KEY";
                var key = Environment.GetEnvironmentVariable(variable);
                // Local servers (vLLM, Ollama, llama.cpp, distill serve) usually need no key.
                if (string.IsNullOrEmpty(key))
                {
                    if (reference.BaseUrl is null) throw new InvalidOperationException($"{reference}: environment variable {variable} is not set");
                    key = "no-key";
                }
                return OpenAI(reference.Model, key, reference.BaseUrl, networkTimeout);
            }
            case ModelProvider.Anthropic:
            {
                var variable = apiKeyVariable ?? "ANTHROPIC_API_KEY";
                var key = Environment.GetEnvironmentVariable(variable)
                    ?? throw new InvalidOperationException($"{reference}: environment variable {variable} is not set");
                return Anthropic(reference.Model, key);
            }
            default:
                if (!File.Exists(Path.Combine(reference.Model, "config.json")))
                    throw new InvalidOperationException($"{reference}: not a model folder (no config.json), and not openai:MODEL or anthropic:MODEL");
                return LocalModelChatClient.Load(reference.Model, adapter, weights);
        }
    }

    /// <summary>
    /// Any OpenAI-compatible endpoint through the official SDK and Microsoft.Extensions.AI.OpenAI's
    /// adapter (<c>ChatClient.AsIChatClient()</c>). The SDK's own retries are switched off:
    /// <see cref="Resilience.RetryingChatClient"/> owns retrying, so a request is never silently paid
    /// twice and every retry is visible to the pipeline (accounting, logging).
    /// </summary>
    public static IChatClient OpenAI(string model, string apiKey, Uri? baseUrl = null, TimeSpan? networkTimeout = null)
    {
        var options = new OpenAIClientOptions
        {
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
            NetworkTimeout = networkTimeout ?? TimeSpan.FromMinutes(2),
        };
        if (baseUrl is not null) options.Endpoint = baseUrl;
        return new ChatClient(model, new ApiKeyCredential(apiKey), options).AsIChatClient();
    }

    /// <summary>
    /// Anthropic through its SDK's own IChatClient adapter, with the SDK's retries switched off for
    /// the same reason as <see cref="OpenAI"/>'s.
    /// </summary>
    public static IChatClient Anthropic(string model, string apiKey, Uri? baseUrl = null, TimeSpan? networkTimeout = null)
    {
        var timeout = networkTimeout ?? TimeSpan.FromMinutes(2);
        var client = baseUrl is null
            ? new AnthropicClient { ApiKey = apiKey, MaxRetries = 0, Timeout = timeout }
            : new AnthropicClient { ApiKey = apiKey, MaxRetries = 0, Timeout = timeout, BaseUrl = baseUrl.ToString().TrimEnd('/') };
        return client.AsIChatClient(model);
    }
}
