using Microsoft.Extensions.AI;
using Distill.Chat.Clients;
using Distill.Chat.Serving;
using Distill.Models;
using Distill.Models.Formats;
using Distill.Models.Generation;

namespace Distill.Chat.Tests;

/// <summary>A local HF folder (tiny random Llama + GPT-2's tokenizer) served through IChatClient and `distill serve`.</summary>
public class LocalModelChatClientTests
{
    static string SharedTokenizer()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Distill.slnx"))) dir = dir.Parent;
        return Path.Combine(dir!.FullName, "data", "tokenizers", "gpt2");
    }

    static string TinyModel()
    {
        var dir = Directory.CreateTempSubdirectory("distill-local-").FullName;
        var tokenizer = SharedTokenizer();
        ModelFolder.Init(ModelFolder.ResolveConfig("tiny", tokenizer), tokenizer, dir, 7, SafetensorsDType.F32);
        return dir;
    }

    [Fact]
    public async Task GreedyAnswers_MatchTheGenerator_AndCountTokens()
    {
        var dir = TinyModel();
        using var client = LocalModelChatClient.Load(dir);
        ChatMessage[] messages = [new(ChatRole.User, "def add(a, b):")];
        var options = new ChatOptions { Temperature = 0, MaxOutputTokens = 6 };
        var a = await client.GetResponseAsync(messages, options);
        var b = await client.GetResponseAsync(messages, options);
        Assert.Equal(a.Text, b.Text);
        var prompt = client.PromptIds(messages);
        Assert.Equal(prompt.Length, a.Usage?.InputTokenCount);
        // the same tokens straight from the generator
        using var model = ModelIO.Load(dir);
        var tok = Distill.Text.TokenizerLoader.Load(dir);
        var direct = Generator.Generate(model, prompt, new SamplingOptions { Temperature = 0, MaxNewTokens = 6, EosTokenIds = model.Config.EosTokenIds }, ids => tok.Decode(ids, true))[0];
        Assert.Equal(direct.Text, a.Text);
        Assert.Equal(direct.Ids.Length, a.Usage?.OutputTokenCount);
    }

    [Fact]
    public async Task ServedOverLoopback_ThroughTheOpenAISdk()
    {
        var dir = TinyModel();
        using var local = LocalModelChatClient.Load(dir);
        await using var server = new OpenAiServer(local, new ServerOptions { Port = 0, ModelName = "tiny" });
        await server.StartAsync();
        var sdk = ChatClientFactory.OpenAI("tiny", "no-key", new Uri(server.BaseAddress, "v1"));
        var options = new ChatOptions { Temperature = 0, MaxOutputTokens = 5 };
        var viaHttp = await sdk.GetResponseAsync([new(ChatRole.User, "hello")], options);
        var direct = await local.GetResponseAsync([new(ChatRole.User, "hello")], options);
        Assert.Equal(direct.Text, viaHttp.Text);
        Assert.Equal(ChatFinishReason.Length, viaHttp.FinishReason);
    }

    [Fact]
    public void AFolderWithoutATokenizer_IsAClearError()
    {
        var dir = TinyModel();
        File.Delete(Path.Combine(dir, "tokenizer.json"));
        var e = Assert.Throws<InvalidOperationException>(() => LocalModelChatClient.Load(dir));
        Assert.Contains("tokenizer.json", e.Message);
    }
}
