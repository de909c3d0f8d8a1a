using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;
using Distill.Cli.Commands;
using Distill.Evaluation.Judge;

namespace Distill.Cli.Tests;

/// <summary>`distill eval judge` with a scripted judge model: the prompt it is sent, both orders, the cache.</summary>
[Collection("console")]
public class EvalJudgeCommandTests
{
    /// <summary>Prefers whichever position holds "good" and records every system prompt it is sent.</summary>
    sealed class PrefersGood : IChatClient
    {
        readonly List<string> _systems = [];
        public IReadOnlyList<string> Systems { get { lock (_systems) return [.. _systems]; } }

        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
        {
            var list = messages.ToList();
            lock (_systems) _systems.Add(list[0].Text);
            var user = list[^1].Text;
            int b = user.IndexOf("[The Start of Assistant B's Answer]", StringComparison.Ordinal);
            bool goodA = user[..b].Contains("good"), goodB = user[b..].Contains("good");
            var verdict = goodA == goodB ? "[[C]]" : goodA ? "[[A]]" : "[[B]]";
            return Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, $"Compared point by point. {verdict}"))
            {
                Usage = new UsageDetails { InputTokenCount = 10, OutputTokenCount = 5 },
            });
        }

        public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
            => throw new NotSupportedException();
        public object? GetService(Type serviceType, object? serviceKey = null) => null;
        public void Dispose() { }
    }

    static string Pairs()
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("judge-in").FullName, "pairs.jsonl");
        File.WriteAllLines(path, new[]
        {
            new JsonObject { ["prompt"] = "Summarise f.", ["a"] = "a good summary", ["b"] = "an echo" },
            new JsonObject { ["prompt"] = "Summarise g.", ["a"] = "an echo", ["b"] = "a good summary" },
            new JsonObject { ["prompt"] = "Summarise h.", ["a"] = "a good one", ["b"] = "also good" },
        }.Select(o => o.ToJsonString()));
        return path;
    }

    static (int Exit, string Out, string Err, PrefersGood Judge) Run(params string[] args)
    {
        var judge = new PrefersGood();
        var saved = EvalJudgeCommand.ClientFactory;
        EvalJudgeCommand.ClientFactory = _ => judge;
        try { var (exit, o, e) = CliHarness.Run(new EvalJudgeCommand().Build(), args); return (exit, o, e, judge); }
        finally { EvalJudgeCommand.ClientFactory = saved; }
    }

    [Fact]
    public void TheDefaultPromptIsDpoKds_AndEachPairIsJudgedInBothOrders()
    {
        var (exit, output, err, judge) = Run("--input", Pairs(), "--judge", "openai:judge-x", "--json");
        Assert.True(exit == 0, err);
        Assert.Contains("prompt dpo-kd", err);
        Assert.Equal(6, judge.Systems.Count);
        Assert.All(judge.Systems, s => Assert.Equal(JudgePrompt.DpoKdSystem, s));
        var r = JsonNode.Parse(output)!;
        Assert.Equal((1, 1, 1), ((int)r["wins"]!, (int)r["ties"]!, (int)r["losses"]!));
        Assert.Contains("judge judge-x: 6 paid requests, 60 input + 30 output tokens", err);
    }

    [Fact]
    public void PairV2StaysSelectable_AndAnUnknownPromptIsAClearError()
    {
        var (exit, _, err, judge) = Run("--input", Pairs(), "--judge", "openai:judge-x", "--judge-prompt", "mt-bench-pair-v2", "--json");
        Assert.True(exit == 0, err);
        Assert.All(judge.Systems, s => Assert.Equal(JudgePrompt.MtBenchPairV2System, s));
        var (bad, _, badErr, badJudge) = Run("--input", Pairs(), "--judge", "openai:judge-x", "--judge-prompt", "no-such-prompt");
        Assert.Equal(2, bad);
        Assert.Contains("no-such-prompt", badErr);
        Assert.Empty(badJudge.Systems);
    }

    [Fact]
    public void WithACache_ARerunAsksTheJudgeNothing()
    {
        var cache = Path.Combine(Directory.CreateTempSubdirectory("judge-cache").FullName, "cache.sqlite");
        var input = Pairs();
        var (first, out1, err1, judge1) = Run("--input", input, "--judge", "openai:judge-x", "--cache", cache, "--json");
        Assert.True(first == 0, err1);
        Assert.Equal(6, judge1.Systems.Count);
        var (second, out2, err2, judge2) = Run("--input", input, "--judge", "openai:judge-x", "--cache", cache, "--json");
        Assert.True(second == 0, err2);
        Assert.Empty(judge2.Systems);
        Assert.Equal(out1, out2);
        Assert.DoesNotContain("paid requests", err2); // nothing paid, nothing in the ledger
    }
}
