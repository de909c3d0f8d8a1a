using System.Diagnostics;
using System.Text.Json.Nodes;
using Distill.Methods.Runs;

namespace Distill.Methods.Tests.Runs;

/// <summary>
/// recipes/smoke/{dpo-kd-offline,dpo-kd-online,plad}.yaml end to end through <see cref="RunPipeline.RunAsync"/> (what
/// `distill run` calls), from the repository alone (tiny models made by the recipe, the built-in task, no network),
/// each in at most 90 s on 2 cores; then `--resume` skips every stage and changes nothing.
/// </summary>
public class PreferenceSmokeRecipeTests
{
    public static TheoryData<string, string[]> Recipes => new()
    {
        { "dpo-kd-offline", ["data", "models", "teacher-gen", "dpo-kd"] },
        { "dpo-kd-online", ["data", "models", "teacher-gen", "dpo-kd"] },
        { "plad", ["data", "models", "plad"] },
    };

    static List<JsonObject> Rows(string path) => File.ReadAllLines(path).Where(l => l.Length > 0).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();

    [Theory]
    [MemberData(nameof(Recipes))]
    public async Task PreferenceSmokeRecipe_RunsEndToEnd_InUnder90s_AndResumeSkipsEveryStage(string name, string[] stages)
    {
        var recipe = Recipe.Load(SmokeRecipeTests.RecipePath(name));
        var dir = Directory.CreateTempSubdirectory("distill-smoke-pref-").FullName;
        try
        {
            var log = new StringWriter();
            var clock = Stopwatch.StartNew();
            await RunPipeline.RunAsync(recipe, dir, resume: false, log);
            var seconds = clock.Elapsed.TotalSeconds;
            Assert.True(seconds < 90, $"{name}: {seconds:F1} s (at most 90 s)");
            Assert.Equal(stages, RunPipeline.Stages(recipe, new RunDirectory(dir)).Select(s => s.Name));
            foreach (var stage in stages) Assert.True(StageRunner.IsComplete(Path.Combine(dir, "stages", stage + ".json")), $"{name}: stage {stage} has no complete marker");
            Assert.True(File.Exists(Path.Combine(dir, "adapter", "adapter_model.safetensors")));

            string metricsPath, pairsPath;
            if (name == "plad")
            {
                metricsPath = Path.Combine(dir, "distill", "metrics.jsonl");
                pairsPath = Path.Combine(dir, "pairs.jsonl");
                Assert.True(File.Exists(Path.Combine(dir, "sft-student", "adapter", "adapter_model.safetensors")));
                Assert.True(File.Exists(Path.Combine(dir, "sft-teacher", "adapter", "adapter_model.safetensors")));
                var pairs = Rows(pairsPath);
                Assert.All(pairs, p => { Assert.NotNull(p["chosen_score"]); Assert.NotNull(p["reference"]); });
                Assert.Equal((int)Math.Round(pairs.Count * 0.5, MidpointRounding.AwayFromZero), pairs.Count(p => (string?)p["label"] == "scored"));
            }
            else
            {
                metricsPath = Path.Combine(dir, "metrics.jsonl");
                int iterations = name == "dpo-kd-online" ? (int)recipe.Int("preference.iterations") : 1;
                pairsPath = Path.Combine(dir, $"iter-{iterations}", "pairs.jsonl");
                var m = Rows(metricsPath);
                Assert.Equal(Enumerable.Range(1, iterations), m.Select(x => (int)x["iteration"]!).Distinct());
                Assert.Equal(Enumerable.Range(1, m.Count), m.Select(x => (int)x["global_step"]!));
                Assert.Equal(iterations, File.ReadAllLines(Path.Combine(dir, "iterations.jsonl")).Length);
                // DPO pulls chosen above rejected: the mean reward margin of the last iteration's steps is positive
                var last = m.Where(x => (int)x["iteration"]! == iterations).Select(x => (double)x["rewards/margins"]!).ToList();
                Assert.True(last.Average() > 0, $"{name}: margins {string.Join(", ", last)}");
                Assert.All(Rows(pairsPath), p => Assert.Equal(iterations, (int)p["iteration"]!));
            }
            var rows = Rows(metricsPath);
            Assert.NotEmpty(rows);
            foreach (var key in new[] { "loss", "grad_norm", "rewards/chosen", "rewards/rejected", "rewards/margins", "rewards/accuracies", "logps/chosen", "logps/rejected" })
                Assert.All(rows, r => Assert.True(double.IsFinite((double)r[key]!), $"{name}: {key} in {r.ToJsonString()}"));

            var adapter = File.ReadAllBytes(Path.Combine(dir, "adapter", "adapter_model.safetensors"));
            var metrics = File.ReadAllText(metricsPath);
            var pairsText = File.ReadAllText(pairsPath);
            var resumed = new StringWriter();
            await RunPipeline.RunAsync(recipe, dir, resume: true, resumed);
            foreach (var stage in stages) Assert.Contains($"[{stage}] complete, skipped", resumed.ToString());
            Assert.Equal(metrics, File.ReadAllText(metricsPath));
            Assert.Equal(pairsText, File.ReadAllText(pairsPath));
            Assert.Equal(adapter, File.ReadAllBytes(Path.Combine(dir, "adapter", "adapter_model.safetensors")));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void TheRealRecipesCarryThePapersSettings()
    {
        foreach (var name in new[] { "dpo-kd-offline", "dpo-kd-online" })
        {
            var r = Recipe.Load(Distill.Data.RepoData.Find("..", "recipes", name + ".yaml")!);
            Assert.Equal(name, r.Method);
            Assert.True((bool)r["student.adapter.qlora"]!);                                    // §4.1.3: NF4, double quantization
            Assert.Equal((64L, 16.0, 0.1), (r.Int("student.adapter.r"), r.Float("student.adapter.alpha"), r.Float("student.adapter.dropout")));
            Assert.Equal((5e-4, 1L), (r.Float("train.lr"), r.Int("train.batch_size")));
            Assert.Equal(3L, name == "dpo-kd-offline" ? r.Int("train.epochs") : r.Int("preference.iterations") * r.Int("train.epochs"));
            Assert.Equal("dpo-kd-generation", r.String("data.prompt_template"));
            Assert.True((bool)r["eval.enabled"]!);                                               // §4.2: judged both orders, pass@1
            Assert.Equal(("dpo-kd", "builtin:test"), (r.String("eval.judge_prompt"), r.String("eval.source")));
            Assert.StartsWith("openai:", r.String("eval.judge"));
        }
        var plad = Recipe.Load(Distill.Data.RepoData.Find("..", "recipes", "plad.yaml")!);
        Assert.Equal((8L, 32.0, 0.1), (plad.Int("student.adapter.r"), plad.Float("student.adapter.alpha"), plad.Float("student.adapter.dropout")));   // §5.1
        Assert.Equal(("plad-rank", 1L, 8L), (plad.String("preference.loss"), plad.Int("plad.sft_epochs"), plad.Int("train.batch_size")));
        Assert.True((bool)plad["eval.enabled"]!);
    }
}
