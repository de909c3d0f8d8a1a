using System.ClientModel;
using System.Net;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace Distill.Chat.Resilience;

/// <summary>Retry settings: exponential backoff with jitter, Retry-After honoured, a per-attempt timeout.</summary>
public sealed record RetryOptions
{
    public int MaxRetries { get; init; } = 5;
    public TimeSpan BaseDelay { get; init; } = TimeSpan.FromSeconds(1);
    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromSeconds(60);
    public TimeSpan AttemptTimeout { get; init; } = TimeSpan.FromMinutes(2);

    public void Validate()
    {
        if (MaxRetries < 0) throw new ArgumentOutOfRangeException(nameof(MaxRetries), "must be ≥ 0");
        if (BaseDelay < TimeSpan.Zero || MaxDelay < BaseDelay) throw new ArgumentOutOfRangeException(nameof(MaxDelay), "need 0 ≤ BaseDelay ≤ MaxDelay");
        if (AttemptTimeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(AttemptTimeout), "must be > 0");
    }
}

/// <summary>
/// Retries what a retry can fix — 408, 409, 429, 5xx, network failures, attempt timeouts — and
/// nothing else (a 400 or 401 fails at once with the server's message). On 429/503 a Retry-After
/// header sets the wait (the OpenAI SDK's exceptions carry the response; the Anthropic SDK's carry
/// only the status, so its 429s back off). Built on Polly.Core's retry and timeout strategies.
/// Streaming requests are retried only until their first update arrives (see <see cref="GetStreamingResponseAsync"/>).
/// </summary>
public sealed class RetryingChatClient : DelegatingChatClient
{
    readonly ResiliencePipeline _pipeline;

    public RetryingChatClient(IChatClient inner, RetryOptions? options = null) : base(inner)
    {
        var o = options ?? new RetryOptions();
        o.Validate();
        _pipeline = new ResiliencePipelineBuilder()
            .AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = Math.Max(1, o.MaxRetries),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = o.BaseDelay,
                MaxDelay = o.MaxDelay,
                ShouldHandle = args => ValueTask.FromResult(o.MaxRetries > 0 && args.Outcome.Exception is { } e && IsTransient(e)),
                DelayGenerator = args => ValueTask.FromResult(args.Outcome.Exception is { } e ? RetryAfter(e, o.MaxDelay) : null),
            })
            .AddTimeout(o.AttemptTimeout)
            .Build();
    }

    public override Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var list = messages as IList<ChatMessage> ?? messages.ToList();
        return _pipeline.ExecuteAsync(static async (state, ct) =>
            await state.Self.InnerGet(state.list, state.options, ct).ConfigureAwait(false),
            (Self: this, list, options), cancellationToken).AsTask();
    }

    Task<ChatResponse> InnerGet(IList<ChatMessage> messages, ChatOptions? options, CancellationToken ct) => base.GetResponseAsync(messages, options, ct);

    /// <summary>
    /// Retries the stream's opening — the request and its first update, where 429/5xx/resets and
    /// slow starts show — under the same policy as <see cref="GetResponseAsync"/>. Once an update
    /// has been handed on, a failure propagates: replaying a half-read stream would duplicate text.
    /// </summary>
    public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var list = messages as IList<ChatMessage> ?? messages.ToList();
        var (stream, streamCts, hasFirst) = await _pipeline.ExecuteAsync(async attempt =>
        {
            // The stream outlives the attempt, so it runs on its own token (cancelled by the caller's),
            // which the attempt's timeout also cancels while the first update is awaited.
            var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var e = base.GetStreamingResponseAsync(list, options, cts.Token).GetAsyncEnumerator(cts.Token);
            try
            {
                bool has;
                using (attempt.Register(static c => ((CancellationTokenSource)c!).Cancel(), cts))
                    has = await e.MoveNextAsync().ConfigureAwait(false);
                attempt.ThrowIfCancellationRequested();
                return (e, cts, has);
            }
            catch
            {
                await e.DisposeAsync().ConfigureAwait(false);
                cts.Dispose();
                throw;
            }
        }, cancellationToken).ConfigureAwait(false);
        using (streamCts)
        await using (stream.ConfigureAwait(false))
        {
            if (!hasFirst) yield break;
            yield return stream.Current;
            while (await stream.MoveNextAsync().ConfigureAwait(false))
                yield return stream.Current;
        }
    }

    /// <summary>HTTP status of a failure, where the exception carries one.</summary>
    public static int? StatusOf(Exception e) => e switch
    {
        ClientResultException c when c.Status != 0 => c.Status,                  // OpenAI SDK (System.ClientModel)
        Anthropic.Exceptions.AnthropicApiException a => (int)a.StatusCode,       // Anthropic SDK
        HttpRequestException { StatusCode: { } s } => (int)s,
        _ => null,
    };

    public static bool IsTransient(Exception e)
    {
        if (e is TimeoutRejectedException) return true;
        var status = StatusOf(e);
        if (status is { } s) return s is 408 or 409 or 429 || s >= 500;
        // No status: the connection failed, was reset, or the body was cut off mid-way.
        return e is HttpRequestException or IOException or ClientResultException or Anthropic.Exceptions.AnthropicIOException
            || e.InnerException is HttpRequestException or IOException or WebException;
    }

    /// <summary>The wait a 429/503 asks for (Retry-After: seconds or an HTTP date), capped; null = use backoff.</summary>
    public static TimeSpan? RetryAfter(Exception e, TimeSpan cap)
    {
        if (e is not ClientResultException c || c.GetRawResponse() is not { } response) return null;
        if (!response.Headers.TryGetValue("Retry-After", out var value) || value is null) return null;
        if (double.TryParse(value, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var seconds))
            return TimeSpan.FromSeconds(Math.Clamp(seconds, 0, cap.TotalSeconds));
        if (DateTimeOffset.TryParse(value, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var when))
        {
            var wait = when - DateTimeOffset.UtcNow;
            return wait <= TimeSpan.Zero ? TimeSpan.Zero : wait > cap ? cap : wait;
        }
        return null;
    }
}
