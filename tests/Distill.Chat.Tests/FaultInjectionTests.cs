using System.ClientModel;
using System.Diagnostics;
using Microsoft.Extensions.AI;
using Distill.Chat.Accounting;
using Distill.Chat.Caching;
using Distill.Chat.Resilience;

namespace Distill.Chat.Tests;

/// <summary>
/// The official OpenAI SDK behind Microsoft.Extensions.AI.OpenAI's adapter, composed with
/// <see cref="ChatPipeline"/> (logging, cache, accounting, concurrency, retries), against a
/// misbehaving upstream.
/// </summary>
public class FaultInjectionTests
{
    const string FakeKey = "sk-test-DO-NOT-LEAK-8f3a9c";
    static readonly RetryOptions Fast = new() { MaxRetries = 4, BaseDelay = TimeSpan.FromMilliseconds(20), MaxDelay = TimeSpan.FromSeconds(3), AttemptTimeout = TimeSpan.FromSeconds(2) };
    static readonly ChatMessage[] Hello = [new(ChatRole.User, "hello")];

    static IChatClient Upstream(FaultServer s) => ChatClientFactory.OpenAI("upstream", FakeKey, s.BaseUrl);

    /// <summary>The full pipeline; stages left null are left out.</summary>
    static IChatClient Client(FaultServer s, ResponseCache? cache = null, UsageLedger? ledger = null, RetryOptions? retry = null, CapturingLoggerFactory? logs = null)
        => ChatPipeline.Compose(Upstream(s), "upstream", new ChatPipelineOptions { Cache = cache, Ledger = ledger, Stage = "judge", Retry = retry ?? Fast, LoggerFactory = logs });

    static ResponseCache NewCache(out DirectoryInfo dir)
    {
        dir = Directory.CreateTempSubdirectory("distill-cache-");
        return new ResponseCache(Path.Combine(dir.FullName, "cache.sqlite"));
    }

    [Fact]
    public async Task TooManyRequests_WaitsForRetryAfter_ThenSucceeds()
    {
        using var s = new FaultServer(new FaultServer.Step(429, """{"error":{"message":"slow down"}}""", RetryAfter: "1"), new FaultServer.Step(Body: FaultServer.Completion("done")));
        var sw = Stopwatch.StartNew();
        var r = await Client(s).GetResponseAsync(Hello);
        Assert.Equal("done", r.Text);
        Assert.Equal(2, s.Requests);
        Assert.True(sw.Elapsed >= TimeSpan.FromSeconds(0.9), $"Retry-After: 1 was not honoured (waited {sw.Elapsed.TotalSeconds:F2} s)");
    }

    [Fact]
    public async Task ServerErrorsAndResets_AreRetried_CountedOnce_AndCached()
    {
        using var s = new FaultServer(new FaultServer.Step(500, "{}"), new FaultServer.Step(Reset: true), new FaultServer.Step(503, "{}"),
            new FaultServer.Step(Body: FaultServer.Completion("third time lucky", 7, 3)));
        using var cache = NewCache(out _);
        var ledger = new UsageLedger();
        var client = Client(s, cache, ledger);
        var r = await client.GetResponseAsync(Hello);
        Assert.Equal("third time lucky", r.Text);
        Assert.Equal(4, s.Requests);
        Assert.Equal(7, r.Usage?.InputTokenCount);
        Assert.Equal(3, r.Usage?.OutputTokenCount);
        // Asked again: from the cache, no request, no charge.
        Assert.Equal("third time lucky", (await client.GetResponseAsync(Hello)).Text);
        Assert.Equal(4, s.Requests);
        var row = Assert.Single(ledger.Report(PriceTable.Default));
        Assert.Equal(("judge", 1L, 7L, 3L), (row.Stage, row.Requests, row.InputTokens, row.OutputTokens));
    }

    [Fact]
    public async Task SlowUpstream_HitsTheAttemptTimeout_ThenRetries()
    {
        using var s = new FaultServer(new FaultServer.Step(Delay: TimeSpan.FromSeconds(4), Body: FaultServer.Completion("late")), new FaultServer.Step(Body: FaultServer.Completion("fast")));
        var r = await Client(s).GetResponseAsync(Hello);
        Assert.Equal("fast", r.Text);
        Assert.Equal(2, s.Requests);
    }

    [Fact]
    public async Task BadRequest_FailsAtOnce_WithTheServersMessage_AndIsNotCached()
    {
        using var s = new FaultServer(new FaultServer.Step(400, """{"error":{"message":"max_tokens is too large","type":"invalid_request_error"}}"""));
        using var cache = NewCache(out _);
        var e = await Assert.ThrowsAsync<ClientResultException>(() => Client(s, cache).GetResponseAsync(Hello));
        Assert.Equal(400, e.Status);
        Assert.Contains("max_tokens is too large", e.Message);
        Assert.Equal(1, s.Requests);
        Assert.Equal(0, cache.Count());
    }

    [Theory]
    [InlineData("""{"id":"x","object":"chat.completion","choices":[{"index":0,"message":{"role":"assis""")] // truncated
    [InlineData("""this is not json""")]
    public async Task MalformedOrTruncatedJson_FailsClearly_AndIsNotCached(string body)
    {
        using var s = new FaultServer(new FaultServer.Step(Body: body));
        using var cache = NewCache(out _);
        var e = await Assert.ThrowsAnyAsync<Exception>(() => Client(s, cache, retry: Fast with { MaxRetries = 0 }).GetResponseAsync(Hello));
        Assert.False(string.IsNullOrWhiteSpace(e.Message));
        Assert.Equal(0, cache.Count());
        Assert.Equal(1, s.Requests);
    }

    [Fact]
    public async Task TheApiKey_GoesOnlyToTheUpstream_NeverIntoErrorsLogsOrTheCache()
    {
        using var s = new FaultServer(new FaultServer.Step(401, """{"error":{"message":"Incorrect API key provided"}}"""), new FaultServer.Step(Body: FaultServer.Completion("fine")));
        var logs = new CapturingLoggerFactory();
        DirectoryInfo dir;
        using (var cache = NewCache(out dir))
        {
            var client = Client(s, cache, logs: logs);
            var e = await Assert.ThrowsAsync<ClientResultException>(() => client.GetResponseAsync(Hello));
            Assert.DoesNotContain(FakeKey, e.ToString());
            Assert.Equal("fine", (await client.GetResponseAsync(Hello)).Text);
        }
        // The key did travel, as a bearer token, to the upstream (so the checks below can fail).
        Assert.Contains(s.Seen, r => r.Contains("Bearer " + FakeKey));
        // MEAI's LoggingChatClient at Trace logs messages, options, responses and the failure: never the key.
        Assert.Contains(logs.Lines, l => l.Contains("hello") && l.Contains("GetResponseAsync"));
        Assert.Contains(logs.Lines, l => l.Contains("Incorrect API key provided"));
        Assert.All(logs.Lines, l => Assert.DoesNotContain(FakeKey, l));
        foreach (var f in dir.GetFiles())
            Assert.DoesNotContain(FakeKey, System.Text.Encoding.UTF8.GetString(File.ReadAllBytes(f.FullName)));
    }

    [Fact]
    public async Task TheSampleIndex_KeysTheCache_ButNeverReachesTheUpstream()
    {
        using var s = new FaultServer(new FaultServer.Step(Body: FaultServer.Completion("first")), new FaultServer.Step(Body: FaultServer.Completion("second")));
        using var cache = NewCache(out _);
        var client = Client(s, cache);
        var sample1 = new ChatOptions { Temperature = 1, AdditionalProperties = new() { [CacheKey.SampleIndex] = 1 } };
        Assert.Equal("first", (await client.GetResponseAsync(Hello, new ChatOptions { Temperature = 1 })).Text);
        Assert.Equal("second", (await client.GetResponseAsync(Hello, sample1)).Text);
        Assert.Equal("second", (await client.GetResponseAsync(Hello, sample1)).Text);
        Assert.Equal(2, s.Requests);
        Assert.All(s.Seen, r => Assert.DoesNotContain(CacheKey.SampleIndex, r));
    }
}

/// <summary>Streaming through the same pipeline: the opening is retried, a completed stream is cached.</summary>
public class StreamingFaultTests
{
    static readonly ChatMessage[] Hello = [new(ChatRole.User, "hello")];
    static readonly RetryOptions Fast = new() { MaxRetries = 4, BaseDelay = TimeSpan.FromMilliseconds(20), MaxDelay = TimeSpan.FromSeconds(3), AttemptTimeout = TimeSpan.FromSeconds(2) };

    static async Task<string> Read(IChatClient client)
    {
        var text = new System.Text.StringBuilder();
        await foreach (var u in client.GetStreamingResponseAsync(Hello)) text.Append(u.Text);
        return text.ToString();
    }

    [Fact]
    public async Task AFailedOrSlowOpening_IsRetried_AndTheCompletedStreamIsCached()
    {
        using var s = new FaultServer(new FaultServer.Step(503, "{}"), new FaultServer.Step(Reset: true),
            new FaultServer.Step(Delay: TimeSpan.FromSeconds(4), Body: FaultServer.Stream("late"), ContentType: "text/event-stream"),
            new FaultServer.Step(Body: FaultServer.Stream("hel", "lo ", "world"), ContentType: "text/event-stream"));
        var dir = Directory.CreateTempSubdirectory("distill-cache-");
        using var cache = new ResponseCache(Path.Combine(dir.FullName, "cache.sqlite"));
        var client = ChatPipeline.Compose(ChatClientFactory.OpenAI("upstream", "no-key", s.BaseUrl), "upstream", new ChatPipelineOptions { Cache = cache, Retry = Fast });
        Assert.Equal("hello world", await Read(client));
        Assert.Equal(4, s.Requests);
        Assert.Equal("hello world", await Read(client));
        Assert.Equal(4, s.Requests);
        Assert.Equal(1, cache.Count());
    }

    [Fact]
    public async Task WithoutRetries_TheSameOpeningFails()
    {
        using var s = new FaultServer(new FaultServer.Step(503, "{}"));
        var client = ChatPipeline.Compose(ChatClientFactory.OpenAI("upstream", "no-key", s.BaseUrl), "upstream", new ChatPipelineOptions { Retry = null });
        await Assert.ThrowsAsync<ClientResultException>(() => Read(client));
        Assert.Equal(1, s.Requests);
    }
}
