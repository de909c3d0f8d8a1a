using System.Diagnostics;
using System.Text.Json.Nodes;
using Distill.Methods.Runs;
using Distill.Methods.Tests.Runs;

namespace Distill.Methods.Tests.Persd;

/// <summary>
/// recipes/smoke/persd.yaml end to end through <see cref="RunPipeline.RunAsync"/> (what `distill run` calls), from
/// the repository alone, no network (the teacher is the offline reference teacher): at most 90 s on 2 cores; the
/// attempts, training records, pairs, SeqKD baseline, cost table and pass@1 per repair round are written; a resumed
/// run skips every stage. Also: recipes/persd.yaml parses, and a recipe that mixes the sides is refused.
/// </summary>
public class PersdRecipeTests
{
    [Fact]
    public async Task SmokeRecipe_RunsEndToEnd_InAtMost90Seconds_AndResumeSkipsEveryStage()
    {
        var recipe = Recipe.Load(SmokeRecipeTests.RecipePath("persd"));
        var dir = Directory.CreateTempSubdirectory("distill-smoke-persd-").FullName;
        try
        {
            var log = new StringWriter();
            var clock = Stopwatch.StartNew();
            await RunPipeline.RunAsync(recipe, dir, resume: false, log);
            var seconds = clock.Elapsed.TotalSeconds;
            Assert.True(seconds <= 90, $"smoke persd: {seconds:F1} s (at most 90 s)\n{log}");
            string[] stages = ["data", "models", "persd-data", "seqkd-data", "train", "persd-eval"];
            Assert.Equal(stages, RunPipeline.Stages(recipe, new RunDirectory(dir)).Select(s => s.Name));
            foreach (var stage in stages) Assert.True(StageRunner.IsComplete(Path.Combine(dir, "stages", stage + ".json")), $"stage {stage} incomplete\n{log}");

            var attempts = File.ReadAllLines(Path.Combine(dir, "data", "persd-attempts.jsonl")).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
            Assert.Equal(8, attempts.Count);
            // a random student fails; the reference teacher's refinements all pass, so every failure is kept
            Assert.All(attempts.Where(a => (string)a["attempt_status"]! != "passed"), a => Assert.True((bool)a["kept"]!, a.ToJsonString()));
            int kept = attempts.Count(a => (bool)a["kept"]!);
            Assert.True(kept > 0);
            Assert.Equal(2 * kept, File.ReadAllLines(Path.Combine(dir, "data", "persd-train.jsonl")).Length); // combined: plain + refine
            Assert.Equal(8, File.ReadAllLines(Path.Combine(dir, "data", "seqkd-train.jsonl")).Length);
            var cost = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "eval", "persd-cost.json")))!;
            Assert.Equal(kept, (int)cost["persd"]!["examples"]!);
            Assert.Equal(8, (int)cost["seqkd"]!["examples"]!);
            Assert.Equal(8, (int)cost["seqkd"]!["teacher_requests"]!);
            Assert.Equal(0.0, (double)cost["seqkd"]!["cost_usd"]!);
            var eval = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "eval", "persd.json")))!;
            Assert.Equal(2, eval["pass@1_by_round"]!.AsArray().Count);
            Assert.Equal(4, (int)eval["tasks"]!);
            Assert.Equal("adapter", (string)eval["adapter"]!);

            var resumed = new StringWriter();
            await RunPipeline.RunAsync(recipe, dir, resume: true, resumed);
            foreach (var stage in stages) Assert.Contains($"[{stage}] complete, skipped", resumed.ToString());
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public async Task ThePairsTrainWithAPreferenceLoss()
    {
        // refinement ≻ attempt through DPO (frozen reference = the student before training); no SeqKD side, no repair
        var recipe = Recipe.Load(SmokeRecipeTests.RecipePath("persd"), ["persd.train_on=dpo", "persd.seqkd_baseline=false", "persd.repair_rounds=0", "persd.eval_tasks=2"]);
        var dir = Directory.CreateTempSubdirectory("distill-smoke-persd-dpo-").FullName;
        try
        {
            await RunPipeline.RunAsync(recipe, dir, resume: false, new StringWriter());
            var pairs = File.ReadAllLines(Path.Combine(dir, "data", "persd-pairs.jsonl")).Select(l => JsonNode.Parse(l)!).ToList();
            Assert.NotEmpty(pairs);
            Assert.All(pairs, p => Assert.NotEqual((string)p["chosen"]!, (string)p["rejected"]!));
            var rows = File.ReadAllLines(Path.Combine(dir, "metrics.jsonl")).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
            Assert.Equal((int)recipe.Int("train.max_steps"), rows.Count);
            Assert.All(rows, r => Assert.True(r.ContainsKey("rewards/margins") && float.IsFinite((float)r["loss"]!), r.ToJsonString()));
            var cost = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "eval", "persd-cost.json")))!.AsObject();
            Assert.True(cost.ContainsKey("persd") && !cost.ContainsKey("seqkd"));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void TheRealRecipeParses_AndMixedSidesAreRefused()
    {
        var real = Recipe.Load(Path.Combine(Path.GetDirectoryName(Path.GetDirectoryName(SmokeRecipeTests.RecipePath("persd")))!, "persd.yaml"));
        Assert.Equal("mbpp:train", real.String("persd.train_source"));
        Assert.Equal("humaneval", real.String("persd.eval_source"));
        var e = Assert.Throws<RecipeException>(() => Recipe.Parse("method: persd\nstudent: {init: tiny}\nteacher: {model: reference}\npersd: {train_source: humaneval}\n", "r.yaml"));
        Assert.Equal("persd.train_source", e.Key);
        e = Assert.Throws<RecipeException>(() => Recipe.Parse("method: persd\nstudent: {init: tiny}\nteacher: {model: reference}\npersd: {eval_source: mbpp:train}\n", "r.yaml"));
        Assert.Equal("persd.eval_source", e.Key);
        // the dataset's prompt needs tasks whose completion continues it: MBPP's prompt is prose
        e = Assert.Throws<RecipeException>(() => Recipe.Parse("method: persd\nstudent: {init: tiny}\nteacher: {model: reference}\npersd: {train_source: mbpp:train, eval_source: humaneval, prompt_format: dataset}\n", "r.yaml"));
        Assert.Equal("persd.prompt_format", e.Key);
        e = Assert.Throws<RecipeException>(() => Recipe.Parse("method: persd\nstudent: {init: tiny}\nteacher: {model: reference}\npersd: {prompt_format: chat}\n", "r.yaml"));
        Assert.Equal("persd.prompt_format", e.Key);
        Assert.Equal("dataset", Recipe.Parse("method: persd\nstudent: {init: tiny}\nteacher: {model: reference}\npersd: {train_source: builtin:distill, prompt_format: dataset}\n", "r.yaml").String("persd.prompt_format"));
    }
}
