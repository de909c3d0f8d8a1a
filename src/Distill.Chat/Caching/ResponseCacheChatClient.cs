using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.Extensions.AI;

namespace Distill.Chat.Caching;

/// <summary>
/// Answers from the cache when it can, otherwise asks the inner client and stores the answer.
/// A failed request throws through and stores nothing. Identical requests in flight at once share
/// one upstream call, so neither a re-run nor a burst of duplicates pays twice. Streaming requests
/// are served from the cache as a single update when cached, and cached after they complete.
/// </summary>
public sealed class ResponseCacheChatClient(IChatClient inner, ResponseCache cache, string model) : DelegatingChatClient(inner)
{
    readonly ConcurrentDictionary<string, Lazy<Task<ChatResponse>>> _inFlight = new();

    public long Hits => Interlocked.Read(ref _hits);
    public long Misses => Interlocked.Read(ref _misses);
    long _hits, _misses;

    public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var list = messages as IList<ChatMessage> ?? messages.ToList();
        var key = CacheKey.Compute(model, list, options);
        if (cache.TryGet(key) is { } hit)
        {
            Interlocked.Increment(ref _hits);
            return Deserialize(hit);
        }
        var call = _inFlight.GetOrAdd(key, k => new Lazy<Task<ChatResponse>>(() => FetchAndStore(k, list, options, cancellationToken)));
        try { return await call.Value.ConfigureAwait(false); }
        finally { _inFlight.TryRemove(new KeyValuePair<string, Lazy<Task<ChatResponse>>>(key, call)); }
    }

    async Task<ChatResponse> FetchAndStore(string key, IList<ChatMessage> messages, ChatOptions? options, CancellationToken ct)
    {
        Interlocked.Increment(ref _misses);
        var response = await base.GetResponseAsync(messages, options, ct).ConfigureAwait(false);
        cache.Put(key, model, JsonSerializer.Serialize(response, AIJsonUtilities.DefaultOptions));
        return response;
    }

    public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var list = messages as IList<ChatMessage> ?? messages.ToList();
        var key = CacheKey.Compute(model, list, options);
        if (cache.TryGet(key) is { } hit)
        {
            Interlocked.Increment(ref _hits);
            foreach (var u in Deserialize(hit).ToChatResponseUpdates()) yield return u;
            yield break;
        }
        Interlocked.Increment(ref _misses);
        var updates = new List<ChatResponseUpdate>();
        await foreach (var u in base.GetStreamingResponseAsync(list, options, cancellationToken).ConfigureAwait(false))
        {
            updates.Add(u);
            yield return u;
        }
        // Reached only when the stream completed: a broken stream is never cached.
        cache.Put(key, model, JsonSerializer.Serialize(updates.ToChatResponse(), AIJsonUtilities.DefaultOptions));
    }

    static ChatResponse Deserialize(string json)
        => JsonSerializer.Deserialize<ChatResponse>(json, AIJsonUtilities.DefaultOptions)
           ?? throw new InvalidDataException("response cache: a stored entry is not a chat response");
}
