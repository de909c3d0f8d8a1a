using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace Distill.Chat.Resilience;

/// <summary>At most <c>maxConcurrency</c> requests in flight to the inner client; the rest wait their turn.</summary>
public sealed class ConcurrencyLimitingChatClient(IChatClient inner, int maxConcurrency) : DelegatingChatClient(inner)
{
    readonly SemaphoreSlim _slots = new(maxConcurrency > 0 ? maxConcurrency : throw new ArgumentOutOfRangeException(nameof(maxConcurrency)), maxConcurrency);

    public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        try { return await base.GetResponseAsync(messages, options, cancellationToken).ConfigureAwait(false); }
        finally { _slots.Release(); }
    }

    public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await foreach (var u in base.GetStreamingResponseAsync(messages, options, cancellationToken).ConfigureAwait(false))
                yield return u;
        }
        finally { _slots.Release(); }
    }
}
