using Anthropic;
using Microsoft.Extensions.AI;
using Distill.Chat.Resilience;

namespace Distill.Chat.Tests;

/// <summary>
/// The Anthropic SDK's own IChatClient adapter (compiled against Microsoft.Extensions.AI.Abstractions
/// 10.5) still runs against Abstractions 11, and its failures are retried by <see cref="RetryingChatClient"/>.
/// </summary>
public class AnthropicAdapterTests
{
    const string Message = """{"id":"msg_1","type":"message","role":"assistant","model":"claude-test","content":[{"type":"text","text":"hi there"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":5,"output_tokens":2}}""";

    [Fact]
    public async Task AnswersThroughAbstractions11_AndServerErrorsAreRetried()
    {
        using var s = new FaultServer(new FaultServer.Step(500, """{"type":"error","error":{"type":"api_error","message":"boom"}}"""), new FaultServer.Step(Body: Message));
        var upstream = ChatClientFactory.Anthropic("claude-test", "sk-ant-test", new Uri(s.BaseUrl.GetLeftPart(UriPartial.Authority)));
        var client = ChatPipeline.Compose(upstream, "claude-test", new ChatPipelineOptions { Retry = new RetryOptions { BaseDelay = TimeSpan.FromMilliseconds(10), MaxRetries = 2 } });
        var r = await client.GetResponseAsync([new(ChatRole.User, "hello")], new ChatOptions { MaxOutputTokens = 16 });
        Assert.Equal("hi there", r.Text);
        Assert.Equal(5, r.Usage?.InputTokenCount);
        Assert.Equal(2, r.Usage?.OutputTokenCount);
        Assert.Equal(2, s.Requests);
        Assert.Contains(s.Seen, req => req.StartsWith("POST /v1/messages", StringComparison.Ordinal));
    }
}
