using System.ClientModel;
using System.Diagnostics;
using Microsoft.Extensions.AI;
using Distill.Chat.Caching;
using Distill.Chat.Clients;
using Distill.Chat.Resilience;

namespace Distill.Chat.Tests;

/// <summary>The OpenAI-compatible client behind the retry decorator, against a misbehaving upstream.</summary>
public class FaultInjectionTests
{
    const string FakeKey = "sk-test-DO-NOT-LEAK-8f3a9c";
    static readonly RetryOptions Fast = new() { MaxRetries = 4, BaseDelay = TimeSpan.FromMilliseconds(20), MaxDelay = TimeSpan.FromSeconds(3), AttemptTimeout = TimeSpan.FromSeconds(2) };
    static readonly ChatMessage[] Hello = [new(ChatRole.User, "hello")];

    static IChatClient Client(FaultServer s) => new RetryingChatClient(new OpenAICompatibleChatClient("upstream", FakeKey, s.BaseUrl), Fast);

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
    public async Task ServerErrorsAndResets_AreRetried_AndEachRequestIsAnsweredOnce()
    {
        using var s = new FaultServer(new FaultServer.Step(500, "{}"), new FaultServer.Step(Reset: true), new FaultServer.Step(503, "{}"),
            new FaultServer.Step(Body: FaultServer.Completion("third time lucky", 7, 3)));
        var r = await Client(s).GetResponseAsync(Hello);
        Assert.Equal("third time lucky", r.Text);
        Assert.Equal(4, s.Requests);
        Assert.Equal(7, r.Usage?.InputTokenCount);
        Assert.Equal(3, r.Usage?.OutputTokenCount);
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
        var dir = Directory.CreateTempSubdirectory("distill-cache-");
        using var cache = new ResponseCache(Path.Combine(dir.FullName, "cache.sqlite"));
        var client = new ResponseCacheChatClient(Client(s), cache, "upstream");
        var e = await Assert.ThrowsAsync<ClientResultException>(() => client.GetResponseAsync(Hello));
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
        var dir = Directory.CreateTempSubdirectory("distill-cache-");
        using var cache = new ResponseCache(Path.Combine(dir.FullName, "cache.sqlite"));
        var client = new ResponseCacheChatClient(new RetryingChatClient(new OpenAICompatibleChatClient("upstream", FakeKey, s.BaseUrl), Fast with { MaxRetries = 0 }), cache, "upstream");
        var e = await Assert.ThrowsAnyAsync<Exception>(() => client.GetResponseAsync(Hello));
        Assert.False(string.IsNullOrWhiteSpace(e.Message));
        Assert.Equal(0, cache.Count());
        Assert.Equal(1, s.Requests);
    }

    [Fact]
    public async Task TheApiKey_GoesOnlyToTheUpstream_NeverIntoErrorsOrTheCache()
    {
        using var s = new FaultServer(new FaultServer.Step(401, """{"error":{"message":"Incorrect API key provided"}}"""), new FaultServer.Step(Body: FaultServer.Completion("fine")));
        var dir = Directory.CreateTempSubdirectory("distill-cache-");
        var path = Path.Combine(dir.FullName, "cache.sqlite");
        using (var cache = new ResponseCache(path))
        {
            var client = new ResponseCacheChatClient(Client(s), cache, "upstream");
            var e = await Assert.ThrowsAsync<ClientResultException>(() => client.GetResponseAsync(Hello));
            Assert.DoesNotContain(FakeKey, e.ToString());
            Assert.Equal("fine", (await client.GetResponseAsync(Hello)).Text);
        }
        // The key did travel, as a bearer token, to the upstream (so the check above can fail).
        Assert.Contains(s.Seen, r => r.Contains("Bearer " + FakeKey));
        foreach (var f in dir.GetFiles())
            Assert.DoesNotContain(FakeKey, System.Text.Encoding.UTF8.GetString(File.ReadAllBytes(f.FullName)));
    }
}
