using System.Runtime.CompilerServices;
using System.Threading.RateLimiting;
using Microsoft.Extensions.AI;

namespace Distill.Chat.Resilience;

/// <summary>
/// Takes a permit from a <see cref="RateLimiter"/> (System.Threading.RateLimiting, in the shared
/// framework) before each request and holds it until the answer, or the whole stream, is in: the
/// delegating client Microsoft.Extensions.AI's documentation sketches for rate limits. With
/// <see cref="Concurrency"/> (the pipeline's default) at most N requests are in flight and the rest
/// wait in FIFO order; a <see cref="TokenBucketRateLimiter"/> gives requests-per-minute limits.
/// A permit that cannot be had (a limiter with a bounded queue) is an error, never a silent drop.
/// </summary>
public sealed class RateLimitingChatClient(IChatClient inner, RateLimiter limiter, bool ownsLimiter = false) : DelegatingChatClient(inner)
{
    /// <summary>At most <paramref name="maxConcurrency"/> requests in flight; the others queue, oldest first.</summary>
    public static RateLimitingChatClient Concurrency(IChatClient inner, int maxConcurrency)
        => new(inner, new ConcurrencyLimiter(new ConcurrencyLimiterOptions
        {
            PermitLimit = maxConcurrency > 0 ? maxConcurrency : throw new ArgumentOutOfRangeException(nameof(maxConcurrency), "must be ≥ 1"),
            QueueLimit = int.MaxValue,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
        }), ownsLimiter: true);

    public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        using var lease = await Acquire(cancellationToken).ConfigureAwait(false);
        return await base.GetResponseAsync(messages, options, cancellationToken).ConfigureAwait(false);
    }

    public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var lease = await Acquire(cancellationToken).ConfigureAwait(false);
        await foreach (var u in base.GetStreamingResponseAsync(messages, options, cancellationToken).ConfigureAwait(false))
            yield return u;
    }

    async Task<RateLimitLease> Acquire(CancellationToken ct)
    {
        var lease = await limiter.AcquireAsync(1, ct).ConfigureAwait(false);
        if (lease.IsAcquired) return lease;
        lease.Dispose();
        throw new InvalidOperationException("rate limiter: no permit (its queue is full)");
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && ownsLimiter) limiter.Dispose();
        base.Dispose(disposing);
    }
}
