using Distill.Evaluation.Judge;
using Distill.Evaluation.Scoring;
using Microsoft.Extensions.AI;

namespace Distill.Evaluation.Tests;

/// <summary>A judge that prefers the answer containing "good", or follows a script of raw replies.</summary>
sealed class FakeJudge(Func<string, string>? rule = null, Queue<string>? script = null) : IChatClient
{
    public List<(IList<ChatMessage> Messages, ChatOptions? Options)> Calls { get; } = [];

    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var list = messages.ToList();
        Calls.Add((list, options));
        var user = list.Last().Text;
        var reply = script is not null ? script.Dequeue() : rule!(user);
        return Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, reply)));
    }

    public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
        => throw new NotSupportedException();
    public object? GetService(Type serviceType, object? serviceKey = null) => null;
    public void Dispose() { }

    /// <summary>Prefers whichever position holds "good"; ties when both or neither do.</summary>
    public static string PrefersGood(string user)
    {
        int a = user.IndexOf("[The Start of Assistant A's Answer]", StringComparison.Ordinal);
        int b = user.IndexOf("[The Start of Assistant B's Answer]", StringComparison.Ordinal);
        bool goodA = user[a..b].Contains("good"), goodB = user[b..].Contains("good");
        return goodA == goodB ? "Equal. [[C]]" : goodA ? "A is better. [[A]]" : "B is better. [[B]]";
    }
}

public class JudgeTests
{
    [Theory]
    [InlineData("Explanation... [[A]]", PositionVerdict.A)]
    [InlineData("[[B]]", PositionVerdict.B)]
    [InlineData("tie [[C]] [[C]]", PositionVerdict.Tie)]
    [InlineData("A is better", PositionVerdict.Unparseable)]
    [InlineData("[[A]] no wait [[B]]", PositionVerdict.Unparseable)]
    [InlineData("[A]", PositionVerdict.Unparseable)]
    [InlineData("", PositionVerdict.Unparseable)]
    public void ParsesStrictly(string text, PositionVerdict expected) => Assert.Equal(expected, JudgeVerdict.Parse(text));

    [Theory]
    [InlineData(PositionVerdict.A, PositionVerdict.B, PairOutcome.Win)]
    [InlineData(PositionVerdict.B, PositionVerdict.A, PairOutcome.Loss)]
    [InlineData(PositionVerdict.A, PositionVerdict.A, PairOutcome.Tie)]   // position bias: disagreement
    [InlineData(PositionVerdict.Tie, PositionVerdict.B, PairOutcome.Tie)]
    [InlineData(PositionVerdict.A, PositionVerdict.Unparseable, PairOutcome.Error)]
    public void CombinesBothOrders(PositionVerdict first, PositionVerdict second, PairOutcome expected) => Assert.Equal(expected, JudgeVerdict.Combine(first, second));

    [Fact]
    public async Task JudgesBothOrdersAtTemperatureZero()
    {
        var fake = new FakeJudge(FakeJudge.PrefersGood);
        var j = await new PairwiseJudge(fake).JudgeAsync("Q?", "a good answer", "a poor answer");
        Assert.Equal(PairOutcome.Win, j.Outcome);
        Assert.Equal(2, fake.Calls.Count);
        Assert.All(fake.Calls, c => Assert.Equal(0f, c.Options!.Temperature));
        Assert.Contains("[The Start of Assistant A's Answer]\na good answer", fake.Calls[0].Messages[1].Text);
        Assert.Contains("[The Start of Assistant A's Answer]\na poor answer", fake.Calls[1].Messages[1].Text);
        Assert.Equal(JudgePrompt.DpoKdSystem, fake.Calls[0].Messages[0].Text); // the default: the DPO-KD paper's Appendix B
    }

    [Fact]
    public async Task PositionBiasedJudgeGivesTiesAndUnparseableCountsApart()
    {
        var alwaysA = new FakeJudge(_ => "[[A]]");
        var (s, _) = await PladMetrics.TeacherVsStudentAsync(new PairwiseJudge(alwaysA), [("q", "t1", "s1"), ("q", "t2", "s2")]);
        Assert.Equal((0, 2, 0, 0), (s.Wins, s.Ties, s.Losses, s.Errors));
        var script = new Queue<string>(["[[A]]", "[[B]]", "I cannot decide", "[[A]]", "[[B]]", "[[A]]"]);
        var (m, _) = await PladMetrics.StudentVsReferenceAsync(new PairwiseJudge(new FakeJudge(script: script)), [("q", "s", "r"), ("q", "s", "r"), ("q", "s", "r")]);
        Assert.Equal((1, 0, 1, 1), (m.Wins, m.Ties, m.Losses, m.Errors));
        Assert.Equal(0.5, m.WinRate.Value);
        Assert.Equal(2, m.Decided);
    }

    [Fact]
    public void WilsonIntervalKnownValues()
    {
        // 8 of 10: Wilson 95 % = [0.4902, 0.9433] (Newcombe 1998, method 3).
        var w = WinRateSummary.Wilson(8, 10);
        Assert.Equal(0.8, w.Value, 12);
        Assert.Equal(0.4902, w.Low, 4);
        Assert.Equal(0.9433, w.High, 4);
        var zero = WinRateSummary.Wilson(0, 10);
        Assert.Equal(0, zero.Low);
        Assert.Equal(0.2775, zero.High, 4);
    }

    [Fact]
    public void AdjustedWinRateBootstrapBracketsThePointAndIsSeeded()
    {
        var outcomes = Enumerable.Repeat(PairOutcome.Win, 30).Concat(Enumerable.Repeat(PairOutcome.Tie, 20)).Concat(Enumerable.Repeat(PairOutcome.Loss, 50));
        var s = WinRateSummary.From(outcomes);
        Assert.Equal(0.4, s.AdjustedWinRate.Value, 12);
        // normal approximation: sd of per-pair values {1, ½, 0} = √(0.3·0.36 + 0.2·0.01 + 0.5·0.16) ≈ 0.4359; /√100 → ±0.085
        Assert.InRange(s.AdjustedWinRate.Low, 0.30, 0.33);
        Assert.InRange(s.AdjustedWinRate.High, 0.47, 0.50);
        Assert.Equal(s, WinRateSummary.From(outcomes));
    }

    [Fact]
    public async Task ScorerWinRateAndRougeScorer()
    {
        var rouge = new RougeReferenceScorer();
        Assert.Equal(1.0, await rouge.ScoreAsync(new ScoringInput("p", "the cats sat", "The cat sat.")), 12);
        var byLength = new LengthScorer();
        var s = await PladMetrics.ByScorerAsync(byLength, [new("p", "long answer", "short"), new("p", "a", "bbb"), new("p", "xx", "yy")]);
        Assert.Equal((1, 1, 1), (s.Wins, s.Ties, s.Losses));
    }

    sealed class LengthScorer : IScorer
    {
        public string Name => "length";
        public Task<double> ScoreAsync(ScoringInput input, CancellationToken ct = default) => Task.FromResult((double)input.Response.Length);
    }
}
