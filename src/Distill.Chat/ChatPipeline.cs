using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Distill.Chat.Accounting;
using Distill.Chat.Caching;
using Distill.Chat.Resilience;

namespace Distill.Chat;

/// <summary>What to put around an upstream client; null or 0 leaves a stage out.</summary>
public sealed record ChatPipelineOptions
{
    /// <summary>The SQLite response cache (runs/NAME/cache.sqlite); null = no cache.</summary>
    public ResponseCache? Cache { get; init; }
    /// <summary>Token ledger; null = no accounting.</summary>
    public UsageLedger? Ledger { get; init; }
    /// <summary>The ledger's stage name ("teacher-gen", "judge", ...).</summary>
    public string Stage { get; init; } = "default";
    /// <summary>Requests in flight at once to the upstream; 0 = unlimited.</summary>
    public int MaxConcurrency { get; init; } = 8;
    /// <summary>Retry settings; null = no retries.</summary>
    public RetryOptions? Retry { get; init; } = new();
    /// <summary>Microsoft.Extensions.AI's LoggingChatClient; null = no logging.</summary>
    public ILoggerFactory? LoggerFactory { get; init; }
}

/// <summary>
/// Distill's stages as <see cref="ChatClientBuilder"/> extensions, so a pipeline reads the way
/// Microsoft.Extensions.AI composes one (the first <c>Use</c> is the outermost client).
/// </summary>
public static class ChatPipeline
{
    public static ChatClientBuilder UseResponseCache(this ChatClientBuilder builder, ResponseCache cache, string model)
        => builder.Use(inner => new ResponseCacheChatClient(inner, cache, model));

    public static ChatClientBuilder UseUsageAccounting(this ChatClientBuilder builder, UsageLedger ledger, string stage, string model)
        => builder.Use(inner => new UsageAccountingChatClient(inner, ledger, stage, model));

    public static ChatClientBuilder UseConcurrencyLimit(this ChatClientBuilder builder, int maxConcurrency)
        => builder.Use(inner => RateLimitingChatClient.Concurrency(inner, maxConcurrency));

    /// <summary>Any System.Threading.RateLimiting limiter, e.g. a token bucket for requests per minute.</summary>
    public static ChatClientBuilder UseRateLimiter(this ChatClientBuilder builder, System.Threading.RateLimiting.RateLimiter limiter)
        => builder.Use(inner => new RateLimitingChatClient(inner, limiter));

    public static ChatClientBuilder UseRetries(this ChatClientBuilder builder, RetryOptions? options = null)
        => builder.Use(inner => new RetryingChatClient(inner, options));

    /// <summary>
    /// The standard pipeline, outermost first:
    /// logging (MEAI's <see cref="LoggingChatClient"/>: sees every call, cache hits included) →
    /// response cache (a hit goes no further) → usage accounting (inside the cache, so cached answers
    /// cost nothing; outside the retries, so only the answer that arrived is counted) → concurrency
    /// limit (a request keeps its slot while it backs off, so retries never add load) → retries →
    /// the upstream client.
    /// </summary>
    public static IChatClient Compose(IChatClient upstream, string model, ChatPipelineOptions options)
    {
        var builder = upstream.AsBuilder();
        if (options.LoggerFactory is { } loggers) builder.UseLogging(loggers);
        if (options.Cache is { } cache) builder.UseResponseCache(cache, model);
        if (options.Ledger is { } ledger) builder.UseUsageAccounting(ledger, options.Stage, model);
        if (options.MaxConcurrency > 0) builder.UseConcurrencyLimit(options.MaxConcurrency);
        if (options.Retry is { } retry) builder.UseRetries(retry);
        return builder.Build();
    }
}
