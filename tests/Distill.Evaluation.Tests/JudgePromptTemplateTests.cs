using Distill.Evaluation.Judge;

namespace Distill.Evaluation.Tests;

public class JudgePromptTemplateTests
{
    static string Write(string json)
    {
        var path = Path.Combine(Path.GetTempPath(), $"judge-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, json);
        return path;
    }

    [Fact]
    public void PairV2SubstitutesOnce()
    {
        var t = JudgePromptTemplate.MtBenchPairV2;
        Assert.Equal(JudgePrompt.MtBenchPairV2System, t.System);
        // An answer that contains a placeholder is copied verbatim, not substituted again.
        var user = t.User("Q {answer_b}", "A says {question}", "B");
        Assert.Equal("[User Question]\nQ {answer_b}\n\n[The Start of Assistant A's Answer]\nA says {question}\n[The End of Assistant A's Answer]\n\n" +
                     "[The Start of Assistant B's Answer]\nB\n[The End of Assistant B's Answer]", user);
    }

    [Fact]
    public async Task LoadsFastChatKeysAndTheJudgeUsesThem()
    {
        var path = Write("""{"name": "concise", "type": "pairwise", "system_prompt": "Prefer point-by-point, concise answers. Reply [[A]], [[B]] or [[C]].", "prompt_template": "Q: {question}\nA: {answer_a}\nB: {answer_b}", "output_format": "[[A]]"}""");
        var t = JudgePromptTemplate.Load(path);
        Assert.Equal("concise", t.Name);
        var fake = new FakeJudge(u => u.Contains("A: good") ? "[[A]]" : "[[B]]");
        var j = await new PairwiseJudge(fake, prompt: t).JudgeAsync("why?", "good", "bad");
        Assert.Equal(PairOutcome.Win, j.Outcome);
        Assert.Equal(t.System, fake.Calls[0].Messages[0].Text);
        Assert.Equal("Q: why?\nA: good\nB: bad", fake.Calls[0].Messages[1].Text);
        Assert.Equal("Q: why?\nA: bad\nB: good", fake.Calls[1].Messages[1].Text);
    }

    [Theory]
    [InlineData("""{"system_prompt": "[[A]] [[B]] [[C]]"}""", "prompt_template")]
    [InlineData("""{"system_prompt": "[[A]] [[B]] [[C]]", "prompt_template": "{question} {answer_a}"}""", "{answer_b}")]
    [InlineData("""{"system_prompt": "say A or B", "prompt_template": "{question} {answer_a} {answer_b}"}""", "[[A]]")]
    [InlineData("""["not an object"]""", "JSON object")]
    [InlineData("""{"system_prompt": """, "not a JSON object")]
    public void RejectsBadFilesNamingTheProblem(string json, string mention)
    {
        var path = Write(json);
        var e = Assert.Throws<FormatException>(() => JudgePromptTemplate.Load(path));
        Assert.Contains(mention, e.Message);
        Assert.Contains(path, e.Message);
    }
}
