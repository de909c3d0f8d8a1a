using Microsoft.Extensions.AI;
using Distill.Chat.Accounting;
using Distill.Chat.Caching;
using Distill.Chat.Clients;
using Distill.Chat.Resilience;

namespace Distill.Chat.Tests;

public class CacheAndAccountingTests
{
    static readonly ChatMessage[] Prompt = [new(ChatRole.User, "red green blue")];

    static string TempDb() => Path.Combine(Directory.CreateTempSubdirectory("distill-cache-").FullName, "cache.sqlite");

    [Fact]
    public async Task ARerun_NeverPaysTwice_EvenAfterReopening()
    {
        var path = TempDb();
        var upstream = new FakeChatClient();
        using (var cache = new ResponseCache(path))
        {
            var client = new ResponseCacheChatClient(upstream, cache, "fake");
            var a = await client.GetResponseAsync(Prompt, new ChatOptions { Temperature = 0.7f, Seed = 1 });
            var b = await client.GetResponseAsync(Prompt, new ChatOptions { Temperature = 0.7f, Seed = 1 });
            Assert.Equal(a.Text, b.Text);
            Assert.Equal(1, upstream.Calls);
            Assert.Equal(a.Usage?.OutputTokenCount, b.Usage?.OutputTokenCount);
        }
        using (var reopened = new ResponseCache(path))
        {
            var again = await new ResponseCacheChatClient(upstream, reopened, "fake").GetResponseAsync(Prompt, new ChatOptions { Temperature = 0.7f, Seed = 1 });
            Assert.Equal("blue green red (sample 1)", again.Text);
            Assert.Equal(1, upstream.Calls);
            Assert.Equal("ok", reopened.IntegrityCheck());
        }
    }

    [Fact]
    public async Task EveryOptionThatChangesTheAnswer_IsInTheKey()
    {
        using var cache = new ResponseCache(TempDb());
        var upstream = new FakeChatClient();
        var client = new ResponseCacheChatClient(upstream, cache, "fake");
        ChatOptions[] variants =
        [
            new(), new() { Temperature = 0.5f }, new() { TopP = 0.9f }, new() { MaxOutputTokens = 2 }, new() { Seed = 3 },
            new() { StopSequences = ["x"] }, new() { AdditionalProperties = new() { [CacheKey.SampleIndex] = 1 } }, new() { ModelId = "other" },
        ];
        foreach (var v in variants) await client.GetResponseAsync(Prompt, v);
        Assert.Equal(variants.Length, upstream.Calls);
        Assert.Equal(variants.Length, cache.Count());
        foreach (var v in variants) await client.GetResponseAsync(Prompt, v);
        Assert.Equal(variants.Length, upstream.Calls);
    }

    [Fact]
    public async Task ConcurrentIdenticalRequests_ShareOneUpstreamCall()
    {
        using var cache = new ResponseCache(TempDb());
        var upstream = new SlowClient(new FakeChatClient());
        var client = new ResponseCacheChatClient(upstream, cache, "fake");
        var all = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => client.GetResponseAsync(Prompt)));
        Assert.All(all, r => Assert.Equal("blue green red (sample 0)", r.Text));
        Assert.Equal(1, upstream.Calls);
    }

    [Fact]
    public async Task AFailedAnswer_IsNeverCached()
    {
        using var cache = new ResponseCache(TempDb());
        var flaky = new FlakyClient(new FakeChatClient(), failures: 1);
        var client = new ResponseCacheChatClient(flaky, cache, "fake");
        await Assert.ThrowsAsync<HttpRequestException>(() => client.GetResponseAsync(Prompt));
        Assert.Equal(0, cache.Count());
        Assert.Equal("blue green red (sample 0)", (await client.GetResponseAsync(Prompt)).Text);
        Assert.Equal(1, cache.Count());
    }

    [Fact]
    public async Task AStreamedAnswer_IsCachedOnlyWhenComplete_AndReplayed()
    {
        using var cache = new ResponseCache(TempDb());
        var upstream = new FakeChatClient();
        var client = new ResponseCacheChatClient(upstream, cache, "fake");
        string first = "", second = "";
        await foreach (var u in client.GetStreamingResponseAsync(Prompt)) first += u.Text;
        await foreach (var u in client.GetStreamingResponseAsync(Prompt)) second += u.Text;
        Assert.Equal("blue green red (sample 0)", first);
        Assert.Equal(first, second);
        Assert.Equal(1, upstream.Calls);
    }

    [Fact]
    public async Task Usage_IsChargedPerStage_AndCachedAnswersCostNothing()
    {
        using var cache = new ResponseCache(TempDb());
        var ledger = new UsageLedger();
        var teacher = new ResponseCacheChatClient(new UsageAccountingChatClient(new FakeChatClient("gpt-4o-mini-2024-07-18"), ledger, "teacher-gen", "gpt-4o-mini"), cache, "gpt-4o-mini");
        for (int i = 0; i < 3; i++) await teacher.GetResponseAsync(Prompt); // 1 paid, 2 from the cache
        await new UsageAccountingChatClient(new FakeChatClient("judge-x"), ledger, "judge", "judge-x").GetResponseAsync(Prompt);
        var prices = PriceTable.Default.With("judge-x", new Price(1m, 2m));
        var rows = ledger.Report(prices);
        Assert.Equal(2, rows.Count);
        var judge = rows.Single(r => r.Stage == "judge");
        Assert.Equal((3 * 1m + 4 * 2m) / 1_000_000m, judge.Dollars); // 3 input words, 4 output tokens
        var gen = rows.Single(r => r.Stage == "teacher-gen");
        Assert.Equal("gpt-4o-mini", gen.Model); // booked under the priced name, not the snapshot id the server reported
        Assert.Equal(1, gen.Requests);
        Assert.Equal((3 * 0.15m + 4 * 0.60m) / 1_000_000m, gen.Dollars);
        Assert.Null(new UsageLedger().Report(prices).FirstOrDefault()?.Dollars);
        Assert.Null(PriceTable.Default.Cost("no-such-model", 10, 10));
    }

    [Fact]
    public async Task ConcurrencyLimit_IsNeverExceeded()
    {
        var probe = new SlowClient(new FakeChatClient());
        var client = RateLimitingChatClient.Concurrency(probe, 3);
        await Task.WhenAll(Enumerable.Range(0, 12).Select(i => client.GetResponseAsync([new(ChatRole.User, $"q{i}")])));
        Assert.Equal(12, probe.Calls);
        Assert.True(probe.MaxInFlight <= 3, $"max in flight {probe.MaxInFlight}");
        Assert.True(probe.MaxInFlight >= 2, "the limiter serialised everything");
    }

    [Fact]
    public async Task ATokenBucket_SpacesRequestsOut()
    {
        using var bucket = new System.Threading.RateLimiting.TokenBucketRateLimiter(new()
        {
            TokenLimit = 2, TokensPerPeriod = 2, ReplenishmentPeriod = TimeSpan.FromMilliseconds(300), QueueLimit = 100, AutoReplenishment = true,
        });
        var upstream = new FakeChatClient();
        var client = new RateLimitingChatClient(upstream, bucket);
        var sw = System.Diagnostics.Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, 6).Select(i => client.GetResponseAsync([new(ChatRole.User, $"q{i}")])));
        Assert.Equal(6, upstream.Calls);
        Assert.True(sw.Elapsed >= TimeSpan.FromMilliseconds(550), $"6 requests at 2 per 300 ms took {sw.ElapsedMilliseconds} ms"); // 2 now, 2 after ~300 ms, 2 after ~600 ms
    }

    [Theory]
    [InlineData("openai:gpt-4o", ModelProvider.OpenAI, "gpt-4o", null)]
    [InlineData("openai:llama3@http://127.0.0.1:11434/v1", ModelProvider.OpenAI, "llama3", "http://127.0.0.1:11434/v1")]
    [InlineData("anthropic:claude-3-5-haiku-latest", ModelProvider.Anthropic, "claude-3-5-haiku-latest", null)]
    [InlineData("runs/student", ModelProvider.Local, "runs/student", null)]
    public void ModelReferences_Parse(string text, ModelProvider provider, string model, string? baseUrl)
    {
        var r = ModelReference.Parse(text);
        Assert.Equal(provider, r.Provider);
        Assert.Equal(model, r.Model);
        Assert.Equal(baseUrl, r.BaseUrl?.ToString());
    }

    [Theory]
    [InlineData("openai:")]
    [InlineData("openai:m@not a url")]
    [InlineData("anthropic:")]
    public void BadModelReferences_AreClearErrors(string text)
        => Assert.Contains(text.Split('@')[0], Assert.Throws<FormatException>(() => ModelReference.Parse(text)).Message);

    sealed class SlowClient(IChatClient inner) : DelegatingChatClient(inner)
    {
        int _calls, _inFlight, _max;
        public int Calls => _calls;
        public int MaxInFlight => _max;
        public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken ct = default)
        {
            Interlocked.Increment(ref _calls);
            int now = Interlocked.Increment(ref _inFlight);
            int seen;
            while ((seen = _max) < now && Interlocked.CompareExchange(ref _max, now, seen) != seen) { }
            await Task.Delay(100, ct);
            Interlocked.Decrement(ref _inFlight);
            return await base.GetResponseAsync(messages, options, ct);
        }
    }

    sealed class FlakyClient(IChatClient inner, int failures) : DelegatingChatClient(inner)
    {
        int _left = failures;
        public override Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken ct = default)
            => Interlocked.Decrement(ref _left) >= 0 ? throw new HttpRequestException("connection reset") : base.GetResponseAsync(messages, options, ct);
    }
}
