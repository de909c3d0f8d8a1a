using System.Diagnostics;
using System.Text.Json.Nodes;
using Distill.Data;
using Distill.Methods.Runs;

namespace Distill.Methods.Tests.Runs;

/// <summary>
/// recipes/smoke/{sft,seqkd,token-kd}.yaml run end to end through <see cref="RunPipeline.RunAsync"/> (what
/// `distill run` calls), from the repository alone: the recipe makes its own tiny models, no network. Each must finish
/// in at most 60 s on 2 cores; the run directory must hold the resolved recipe, a finite metrics.jsonl of
/// train.max_steps lines, the adapter and a marker per stage; `--resume` then skips every stage.
/// </summary>
public class SmokeRecipeTests
{
    public static string RecipePath(string name)
        => RepoData.Find("..", "recipes", "smoke", name + ".yaml") ?? throw new InvalidOperationException($"recipes/smoke/{name}.yaml not found above the test's folder");

    public static TheoryData<string, string[]> Recipes => new()
    {
        { "sft", ["data", "models", "train"] },
        { "seqkd", ["data", "models", "teacher-gen", "train"] },
        { "token-kd", ["data", "models", "train"] },
    };

    /// <summary>The mean loss of the last third of the steps is below the mean of the first third.</summary>
    static void AssertFalls(string what, List<double> loss)
    {
        int third = Math.Max(1, loss.Count / 3);
        Assert.True(loss.TakeLast(third).Average() < loss.Take(third).Average(), $"{what}: loss did not fall: {string.Join(", ", loss)}");
    }

    [Theory]
    [MemberData(nameof(Recipes))]
    public async Task SmokeRecipe_RunsEndToEnd_InUnderAMinute_AndResumeSkipsEveryStage(string name, string[] stages)
    {
        var recipe = Recipe.Load(RecipePath(name));
        var dir = Directory.CreateTempSubdirectory("distill-smoke-").FullName;
        try
        {
            var log = new StringWriter();
            var clock = Stopwatch.StartNew();
            await RunPipeline.RunAsync(recipe, dir, resume: false, log);
            var seconds = clock.Elapsed.TotalSeconds;
            Assert.True(seconds < 60, $"{name}: {seconds:F1} s (the smoke recipes must run in at most 60 s)");
            Assert.Contains($"run complete: {dir}", log.ToString());

            Assert.Equal(recipe.ToYaml(), File.ReadAllText(Path.Combine(dir, "recipe.yaml")));
            Assert.Null(recipe.FirstDifference(Recipe.Load(Path.Combine(dir, "recipe.yaml"))));
            Assert.Equal(stages, RunPipeline.Stages(recipe, new RunDirectory(dir)).Select(s => s.Name));
            foreach (var stage in stages) Assert.True(StageRunner.IsComplete(Path.Combine(dir, "stages", stage + ".json")), $"{name}: stage {stage} has no complete marker");

            int steps = (int)recipe.Int("train.max_steps");
            var rows = File.ReadAllLines(Path.Combine(dir, "metrics.jsonl")).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
            Assert.Equal(Enumerable.Range(1, steps), rows.Select(r => (int)r["step"]!));
            Assert.All(rows, r => Assert.True(float.IsFinite((float)r["loss"]!) && float.IsFinite((float)r["grad_norm"]!), r.ToJsonString()));
            // the loss falls (for GKD, over the batches of the data's completions: the student's own samples are
            // another distribution, and their loss is not comparable step to step)
            AssertFalls(name, rows.Where(r => r["kd/on_policy"] is null || (int)r["kd/on_policy"]! == 0).Select(r => (double)r["loss"]!).ToList());
            if (recipe.Int("teacher.init_steps") is var teacherSteps and > 0)
            {
                var teacherRows = File.ReadAllLines(Path.Combine(dir, "models", "teacher-sft", "metrics.jsonl")).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
                Assert.Equal(teacherSteps, teacherRows.Count);
                AssertFalls(name + " teacher", teacherRows.Select(r => (double)r["loss"]!).ToList());
            }

            Assert.True(File.Exists(Path.Combine(dir, "adapter", "adapter_model.safetensors")));
            var adapterConfig = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "adapter", "adapter_config.json")))!;
            Assert.Equal((int)recipe.Int("student.adapter.r"), (int)adapterConfig["r"]!);
            var trainMarker = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "stages", "train.json")))!;
            Assert.Equal(steps, (int)trainMarker["details"]!["steps"]!);

            var adapter = File.ReadAllBytes(Path.Combine(dir, "adapter", "adapter_model.safetensors"));
            var metrics = File.ReadAllText(Path.Combine(dir, "metrics.jsonl"));
            var resumed = new StringWriter();
            await RunPipeline.RunAsync(recipe, dir, resume: true, resumed);
            foreach (var stage in stages) Assert.Contains($"[{stage}] complete, skipped", resumed.ToString());
            Assert.DoesNotContain("running", resumed.ToString());
            Assert.Equal(metrics, File.ReadAllText(Path.Combine(dir, "metrics.jsonl")));
            Assert.Equal(adapter, File.ReadAllBytes(Path.Combine(dir, "adapter", "adapter_model.safetensors")));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
