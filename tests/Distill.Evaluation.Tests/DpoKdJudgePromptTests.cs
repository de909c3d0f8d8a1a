using System.Text.RegularExpressions;
using Distill.Evaluation.Judge;

namespace Distill.Evaluation.Tests;

/// <summary>The DPO-KD paper's judge prompt (Appendix B): the default, its answer format, both orders, and its quote in the docs.</summary>
public class DpoKdJudgePromptTests
{
    [Fact]
    public void TheDefaultIsTheDpoKdPrompt_AndBothBuiltInsResolveByName()
    {
        Assert.Same(JudgePromptTemplate.DpoKd, JudgePromptTemplate.Default);
        Assert.Same(JudgePromptTemplate.DpoKd, JudgePromptTemplate.Resolve("dpo-kd"));
        Assert.Same(JudgePromptTemplate.MtBenchPairV2, JudgePromptTemplate.Resolve("mt-bench-pair-v2"));
        var e = Assert.Throws<FileNotFoundException>(() => JudgePromptTemplate.Resolve("dpo-kd-v9"));
        Assert.Contains("dpo-kd-v9", e.Message);
        Assert.Contains("mt-bench-pair-v2", e.Message); // names what exists
    }

    [Fact]
    public void ThePromptAsksForExactlyTheTokensTheParserReads()
    {
        // The paper's format sentence: "[[A]]" if assistant A is better, "[[B]]" if assistant B is better, "[[C]]" for a tie.
        Assert.EndsWith("output your final verdict by strictly following this format: \"[[A]]\" if assistant A is better, \"[[B]]\" if assistant B is better, and \"[[C]]\" for a tie.",
            JudgePrompt.DpoKdSystem);
        Assert.Contains("Preferred responses should have point-by-point high-level explanations.", JudgePrompt.DpoKdSystem);
        Assert.Contains("Prefer answers that are more concise", JudgePrompt.DpoKdSystem);
        Assert.DoesNotContain("Do not allow the length", JudgePrompt.DpoKdSystem); // pair-v2's sentence the paper replaced
    }

    // Replies in the shape the paper's prompt asks for: a short comparison, then the verdict token.
    [Theory]
    [InlineData("Assistant A gives a point-by-point explanation of what the function does; B repeats the code. [[A]]", PositionVerdict.A)]
    [InlineData("Both summaries are accurate, but Assistant B is more concise and adds nothing unrelated.\n\nFinal verdict: [[B]]", PositionVerdict.B)]
    [InlineData("The two responses are equally good.\n[[C]]", PositionVerdict.Tie)]
    [InlineData("Assistant A is better.", PositionVerdict.Unparseable)]                                  // no token: never guessed
    [InlineData("\"[[A]]\" if assistant A is better, \"[[B]]\" if assistant B is better ... [[A]]", PositionVerdict.Unparseable)] // echoes the format: ambiguous
    public void VerdictsInThePapersFormat_AreRead(string reply, PositionVerdict expected) => Assert.Equal(expected, JudgeVerdict.Parse(reply));

    [Fact]
    public async Task BothOrders_WithTheDpoKdPrompt_SwapPositions()
    {
        var fake = new FakeJudge(FakeJudge.PrefersGood);
        var j = await new PairwiseJudge(fake).JudgeAsync("Summarise this code.", "a good summary", "an echo of the code");
        Assert.Equal(PairOutcome.Win, j.Outcome);
        Assert.Equal((PositionVerdict.A, PositionVerdict.B), (j.First, j.Second));
        Assert.All(fake.Calls, c => Assert.Equal(JudgePrompt.DpoKdSystem, c.Messages[0].Text));
        Assert.StartsWith("[User Question]\nSummarise this code.\n\n[The Start of Assistant A's Answer]\na good summary\n", fake.Calls[0].Messages[1].Text);
        Assert.StartsWith("[User Question]\nSummarise this code.\n\n[The Start of Assistant A's Answer]\nan echo of the code\n", fake.Calls[1].Messages[1].Text);
        // A judge that always answers "A" is position-biased: the pair is a tie, not a win.
        var biased = await new PairwiseJudge(new FakeJudge(_ => "[[A]]")).JudgeAsync("q", "x", "y");
        Assert.Equal(PairOutcome.Tie, biased.Outcome);
    }

    /// <summary>docs/judge-prompt.md quotes the prompts the code sends (line wrapping aside).</summary>
    [Theory]
    [InlineData("dpo-kd")]
    [InlineData("mt-bench-pair-v2")]
    public void TheDocsQuoteTheShippedText(string name)
    {
        var doc = File.ReadAllText(Path.Combine(RepoRoot(), "docs", "judge-prompt.md"));
        var m = Regex.Match(doc, $"<!-- system:{Regex.Escape(name)} -->\\s*```text\\n(.*?)\\n```", RegexOptions.Singleline);
        Assert.True(m.Success, $"docs/judge-prompt.md has no block marked <!-- system:{name} -->");
        Assert.Equal(Collapse(JudgePromptTemplate.Resolve(name).System), Collapse(m.Groups[1].Value));
    }

    static string Collapse(string s) => Regex.Replace(s, @"\s+", " ").Trim();

    static string RepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Distill.slnx"))) return d.FullName;
        throw new DirectoryNotFoundException("repo root (Distill.slnx) not found above " + AppContext.BaseDirectory);
    }
}
