using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Distill.Chat.Clients;
using Distill.Chat.Serving;

namespace Distill.Chat.Tests;

/// <summary>`distill serve` over loopback, driven by the official OpenAI SDK and by raw HTTP.</summary>
public class ServerTests : IAsyncLifetime
{
    readonly FakeChatClient _model = new("tiny");
    OpenAiServer _server = null!;
    readonly HttpClient _http = new();

    public async Task InitializeAsync()
    {
        _server = new OpenAiServer(_model, new ServerOptions { Port = 0, ModelName = "tiny" });
        await _server.StartAsync();
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _server.DisposeAsync();
    }

    IChatClient Sdk() => ChatClientFactory.OpenAI("tiny", "no-key", new Uri(_server.BaseAddress, "v1"));

    [Fact]
    public async Task Chat_ThroughTheOpenAISdk()
    {
        var r = await Sdk().GetResponseAsync([new(ChatRole.System, "be brief"), new(ChatRole.User, "hello big world")]);
        Assert.Equal("world big hello (sample 0)", r.Text);
        Assert.Equal(ChatFinishReason.Stop, r.FinishReason);
        Assert.Equal(5, r.Usage?.InputTokenCount); // "be brief" + "hello big world", one token a word
        Assert.Equal(4, r.Usage?.OutputTokenCount);
    }

    [Fact]
    public async Task Streaming_ThroughTheOpenAISdk_GivesTheSameText()
    {
        var text = new StringBuilder();
        int updates = 0;
        await foreach (var u in Sdk().GetStreamingResponseAsync([new(ChatRole.User, "one two three four")]))
        {
            text.Append(u.Text);
            updates++;
        }
        Assert.Equal("four three two one (sample 0)", text.ToString());
        Assert.True(updates >= 5, $"expected one event per token, got {updates}");
    }

    [Fact]
    public async Task StopAndMaxTokens_AreHonoured()
    {
        var stopped = await Sdk().GetResponseAsync([new(ChatRole.User, "a b c d")], new ChatOptions { StopSequences = ["b"] });
        Assert.Equal("d c ", stopped.Text);
        var cut = await Sdk().GetResponseAsync([new(ChatRole.User, "a b c d")], new ChatOptions { MaxOutputTokens = 2 });
        Assert.Equal("d c", cut.Text);
        Assert.Equal(ChatFinishReason.Length, cut.FinishReason);
    }

    [Fact]
    public async Task NSamples_AreDistinctChoices_InOneResponse()
    {
        var res = await _http.PostAsync(new Uri(_server.BaseAddress, "v1/chat/completions"), Json("""{"model":"tiny","n":3,"seed":10,"messages":[{"role":"user","content":"x y"}]}"""));
        Assert.Equal(HttpStatusCode.OK, res.StatusCode);
        using var doc = JsonDocument.Parse(await res.Content.ReadAsStringAsync());
        var texts = doc.RootElement.GetProperty("choices").EnumerateArray().Select(c => c.GetProperty("message").GetProperty("content").GetString()).ToList();
        Assert.Equal(["y x (sample 10)", "y x (sample 12)", "y x (sample 14)"], texts); // sample i: index i and seed 10 + i
        Assert.Equal("chat.completion", doc.RootElement.GetProperty("object").GetString());
    }

    [Fact]
    public async Task StreamingSse_EndsWithDone_AndCarriesUsageWhenAsked()
    {
        var res = await _http.PostAsync(new Uri(_server.BaseAddress, "v1/chat/completions"),
            Json("""{"stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"p q"}]}"""));
        Assert.Equal("text/event-stream", res.Content.Headers.ContentType?.MediaType);
        var events = (await res.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.All(events, e => Assert.StartsWith("data: ", e));
        Assert.Equal("data: [DONE]", events[^1]);
        using var usage = JsonDocument.Parse(events[^2]["data: ".Length..]);
        Assert.Equal(3, usage.RootElement.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        using var finish = JsonDocument.Parse(events[^3]["data: ".Length..]);
        Assert.Equal("stop", finish.RootElement.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
    }

    [Fact]
    public async Task CompletionsAndModels()
    {
        var res = await _http.PostAsync(new Uri(_server.BaseAddress, "v1/completions"), Json("""{"prompt":"left right","max_tokens":1}"""));
        using var doc = JsonDocument.Parse(await res.Content.ReadAsStringAsync());
        Assert.Equal("right", doc.RootElement.GetProperty("choices")[0].GetProperty("text").GetString());
        Assert.Equal("length", doc.RootElement.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        var models = await _http.GetFromJsonAsync<JsonElement>(new Uri(_server.BaseAddress, "v1/models"));
        Assert.Equal("tiny", models.GetProperty("data")[0].GetProperty("id").GetString());
    }

    [Theory]
    [InlineData("{not json", null)]
    [InlineData("[1,2]", null)]
    [InlineData("""{"model":"tiny"}""", "messages")]
    [InlineData("""{"messages":[]}""", "messages")]
    [InlineData("""{"messages":[{"role":"wizard","content":"x"}]}""", "messages[0].role")]
    [InlineData("""{"messages":[{"role":"user"}]}""", "messages[0].content")]
    [InlineData("""{"messages":[{"role":"user","content":"x"}],"temperature":7}""", "temperature")]
    [InlineData("""{"messages":[{"role":"user","content":"x"}],"n":0}""", "n")]
    [InlineData("""{"messages":[{"role":"user","content":"x"}],"max_tokens":"ten"}""", "max_tokens")]
    [InlineData("""{"messages":[{"role":"user","content":"x"}],"stop":["a","b","c","d","e"]}""", "stop")]
    [InlineData("""{"messages":[{"role":"user","content":"x"}],"stream":"yes"}""", "stream")]
    public async Task MalformedRequests_Get400_WithOpenAIErrorJson(string body, string? param)
    {
        int before = _model.Calls;
        var res = await _http.PostAsync(new Uri(_server.BaseAddress, "v1/chat/completions"), Json(body));
        Assert.Equal(HttpStatusCode.BadRequest, res.StatusCode);
        using var doc = JsonDocument.Parse(await res.Content.ReadAsStringAsync());
        var error = doc.RootElement.GetProperty("error");
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()));
        Assert.Equal(param, error.GetProperty("param").GetString());
        Assert.Equal(before, _model.Calls); // the model never saw it
    }

    [Fact]
    public async Task UnknownRoute_Gets404Json()
    {
        var res = await _http.GetAsync(new Uri(_server.BaseAddress, "v1/engines"));
        Assert.Equal(HttpStatusCode.NotFound, res.StatusCode);
        Assert.Contains("\"error\"", await res.Content.ReadAsStringAsync());
    }

    static StringContent Json(string s) => new(s, Encoding.UTF8, "application/json");
}
