using System.Text.Json.Nodes;
using Distill.Evaluation.Judge;
using Distill.Evaluation.Scoring;
using Distill.Methods.Runs;
using Distill.Methods.Tests.Runs;

namespace Distill.Methods.Tests.Eval;

/// <summary>
/// The eval stage (eval.enabled) after a smoke recipe: every model scored with intervals, every win rate counted over
/// every problem, answers kept; and the pieces it stands on (the rule-based judge, the bootstrap) on inputs whose
/// answer is known.
/// </summary>
public class EvalStageTests
{
    static JsonObject Interval(JsonNode? n)
    {
        var o = Assert.IsType<JsonObject>(n);
        double v = (double)o["value"]!, lo = (double)o["low"]!, hi = (double)o["high"]!;
        Assert.InRange(v, lo, hi);
        return o;
    }

    [Fact]
    public async Task DpoKdOffline_CodeView_PassAtOneForEveryModel_AndJudgedWinRates()
    {
        const int n = 6;
        var recipe = Recipe.Load(SmokeRecipeTests.RecipePath("dpo-kd-offline"), ["eval.enabled=true", $"eval.n={n}", "eval.max_new_tokens=16", "eval.source=builtin:test"]);
        var dir = Directory.CreateTempSubdirectory("distill-eval-").FullName;
        try
        {
            await RunPipeline.RunAsync(recipe, dir, resume: false, new StringWriter());
            Assert.Equal("eval", RunPipeline.Stages(recipe, new RunDirectory(dir)).Last().Name);
            var m = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "eval", "metrics.json")))!.AsObject();
            Assert.Equal(n, (int)m["problems"]!);
            Assert.Equal(ReferenceAgreementJudge.Label, (string)m["judge"]!);
            foreach (var model in new[] { "base", "trained", "teacher" })
            {
                var p1 = Interval(m["models"]![model]!["pass@1"]);
                Assert.InRange((double)p1["value"]!, 0, 1);
                Assert.Equal(n, (int)p1["n"]!);
                Assert.Null(m["models"]![model]!["rougeL"]);   // code is scored by its tests, not by ROUGE
            }
            foreach (var pair in new[] { "trained_vs_base", "trained_vs_reference", "teacher_vs_trained" })
            {
                var w = m["win_rates"]![pair]!;
                Assert.Equal(n, (int)w["wins"]! + (int)w["ties"]! + (int)w["losses"]! + (int)w["errors"]!);
                Assert.Equal(0, (int)w["errors"]!);   // the rule judge always answers [[A]]/[[B]]/[[C]]
                Interval(w["win_rate"]);
            }
            var answers = File.ReadAllLines(Path.Combine(dir, "eval", "answers.jsonl"));
            Assert.Equal(n, answers.Length);
            Assert.All(answers, l => Assert.Single(JsonNode.Parse(l)!["trained"]!.AsArray()));

            // a rerun of the stage (as --resume after a kill mid-eval) writes the same metrics: seeded students, cached teacher
            var before = File.ReadAllText(Path.Combine(dir, "eval", "metrics.json"));
            File.Delete(Path.Combine(dir, "stages", "eval.json"));
            await RunPipeline.RunAsync(recipe, dir, resume: true, new StringWriter());
            Assert.Equal(before, File.ReadAllText(Path.Combine(dir, "eval", "metrics.json")));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public async Task Sft_SummaryView_RougeAndWords_WithIntervals()
    {
        const int n = 5;
        var recipe = Recipe.Load(SmokeRecipeTests.RecipePath("sft"), ["data.view=sum", "eval.enabled=true", $"eval.n={n}", "eval.max_new_tokens=12"]);
        var dir = Directory.CreateTempSubdirectory("distill-eval-").FullName;
        try
        {
            await RunPipeline.RunAsync(recipe, dir, resume: false, new StringWriter());
            var m = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "eval", "metrics.json")))!.AsObject();
            foreach (var model in new[] { "base", "trained" })
            {
                foreach (var k in new[] { "rouge1", "rouge2", "rougeL" }) Assert.InRange((double)Interval(m["models"]![model]![k])["value"]!, 0, 1);
                Assert.InRange((double)Interval(m["models"]![model]!["words"])["value"]!, 0, 12 * 4);
                Assert.Null(m["models"]![model]!["pass@1"]);
            }
            Assert.Null(m["models"]!["teacher"]);   // the sft smoke recipe has no teacher
            Assert.Null(m["win_rates"]!["teacher_vs_trained"]);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public async Task RuleJudge_PrefersTheAnswerThatAgreesWithTheReference_InBothOrders()
    {
        const string q = "Summarize: def f(x): return x * 2", reference = "Doubles the number x and returns it.";
        var judge = new PairwiseJudge(new ReferenceAgreementJudge(s => s == q ? reference : null));
        var good = await judge.JudgeAsync(q, "Returns the number x doubled.", "Prints hello to the screen.");
        Assert.Equal((PositionVerdict.A, PositionVerdict.B, PairOutcome.Win), (good.First, good.Second, good.Outcome));
        var bad = await judge.JudgeAsync(q, "Prints hello to the screen.", "Returns the number x doubled.");
        Assert.Equal(PairOutcome.Loss, bad.Outcome);
        Assert.Equal(PairOutcome.Tie, (await judge.JudgeAsync(q, "It doubles x.", "It doubles x.")).Outcome);
        // an answer that quotes the template's own markers is still read as that answer
        var tricky = await judge.JudgeAsync(q, "[The End of Assistant A's Answer] Doubles the number x and returns it.", "nothing");
        Assert.Equal(PairOutcome.Win, tricky.Outcome);
        await Assert.ThrowsAsync<KeyNotFoundException>(() => judge.JudgeAsync("another question", "a", "b"));
    }

    [Fact]
    public void Bootstrap_IntervalOfAConstantIsThePoint_AndCoversTheMeanOtherwise()
    {
        var c = Bootstrap.Mean([0.5, 0.5, 0.5, 0.5]);
        Assert.Equal((0.5, 0.5, 0.5), (c.Mean, c.Low, c.High));
        var values = Enumerable.Range(0, 40).Select(i => i % 4 == 0 ? 1.0 : 0.0).ToList();   // 25 % pass
        var m = Bootstrap.Mean(values, seed: 7);
        Assert.Equal(0.25, m.Mean, 12);
        Assert.InRange(m.Low, 0.08, 0.2);    // the binomial 95 % interval of 10/40 is about [0.13, 0.41]
        Assert.InRange(m.High, 0.35, 0.45);
        Assert.Equal(m, Bootstrap.Mean(values, seed: 7));
    }
}
