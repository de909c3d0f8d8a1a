using System.Text.Json.Nodes;
using Distill.Cli.Commands;

namespace Distill.Cli.Tests;

[Collection("console")]
public class DataAndRunCommandTests
{
    [Fact]
    public void DataTask_WritesTrlColumnsAndTestFields()
    {
        var dir = Directory.CreateTempSubdirectory("distill-cli-");
        try
        {
            var path = Path.Combine(dir.FullName, "t.jsonl");
            var (exit, _, err) = CliHarness.Run(new DataTaskCommand().Build(), "--view", "sum", "--shard", "distill", "--n", "25", "--seed", "3", "--out", path);
            Assert.Equal(0, exit);
            Assert.Contains("25 distill problems", err);
            var rows = File.ReadAllLines(path).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
            Assert.Equal(25, rows.Count);
            foreach (var f in new[] { "prompt", "completion", "task_id", "entry_point", "test", "canonical_solution", "difficulty" })
                Assert.All(rows, r => Assert.NotNull(r[f]));
            Assert.Single(dir.GetFiles()); // no temporary left beside it
            var (bad, _, err2) = CliHarness.Run(new DataTaskCommand().Build(), "--shard", "dev", "--out", path);
            Assert.Equal(2, bad);
            Assert.Contains("unknown shard 'dev'", err2);
        }
        finally { dir.Delete(true); }
    }

    [Fact]
    public void DataTaskVerify_RunsReferenceSolutionsInTheSandbox()
    {
        var (exit, stdout, _) = CliHarness.Run(new DataTaskCommand().Build(), "--verify", "--shard", "test", "--n", "12", "--seed", "4");
        Assert.Equal(0, exit);
        Assert.Contains("test: 12/12 reference solutions pass their hidden tests", stdout);
    }

    [Fact]
    public void Run_UnknownKeyAndMissingStudentFailFast()
    {
        var dir = Directory.CreateTempSubdirectory("distill-cli-");
        try
        {
            var recipe = Path.Combine(dir.FullName, "r.yaml");
            File.WriteAllText(recipe, "method: sft\nstudent:\n  model: /m\ndata:\n  n: 5\n  sahrd: test\n");
            var (exit, _, err) = CliHarness.Run(new RunCommand().Build(), recipe, "--out", Path.Combine(dir.FullName, "run"));
            Assert.Equal(2, exit);
            Assert.Contains("r.yaml:6: key 'data.sahrd': unknown key (did you mean 'data.shard'?)", err);
            Assert.False(Directory.Exists(Path.Combine(dir.FullName, "run")));

            var (exit2, stdout, err2) = CliHarness.Run(new RunCommand().Build(), recipe, "--out", Path.Combine(dir.FullName, "run"), "--set", "data.sahrd=x");
            Assert.Equal(2, exit2);
            // a student folder that does not exist fails before any stage runs, naming the key
            File.WriteAllText(recipe, "method: sft\nstudent:\n  model: /m\n");
            var (exit3, _, err3) = CliHarness.Run(new RunCommand().Build(), recipe, "--out", Path.Combine(dir.FullName, "run"), "--set", "data.n=5");
            Assert.Equal(2, exit3);
            Assert.Contains("key 'student.model': '/m' is not a model folder (no config.json there)", err3);
            Assert.False(Directory.Exists(Path.Combine(dir.FullName, "run")));
        }
        finally { dir.Delete(true); }
    }

    /// <summary>`distill run recipes/smoke/sft.yaml` end to end (exit 0), then `--resume` skips every stage.</summary>
    [Fact]
    public void Run_SmokeSftRecipe_TrainsThenResumeSkipsEverything()
    {
        var recipe = Distill.Data.RepoData.Find("..", "recipes", "smoke", "sft.yaml") ?? throw new InvalidOperationException("recipes/smoke/sft.yaml not found from the test's folder");
        var dir = Directory.CreateTempSubdirectory("distill-cli-");
        try
        {
            var run = Path.Combine(dir.FullName, "run");
            var (exit, stdout, err) = CliHarness.Run(new RunCommand().Build(), recipe, "--out", run);
            Assert.True(exit == 0, err);
            Assert.Contains("[train] 12 steps, last loss", stdout);
            Assert.Contains($"run complete: {run}", stdout);
            Assert.True(File.Exists(Path.Combine(run, "adapter", "adapter_model.safetensors")));
            var metrics = File.ReadAllText(Path.Combine(run, "metrics.jsonl"));

            var (exit2, stdout2, err2) = CliHarness.Run(new RunCommand().Build(), recipe, "--out", run, "--resume");
            Assert.True(exit2 == 0, err2);
            foreach (var stage in new[] { "data", "models", "train" }) Assert.Contains($"[{stage}] complete, skipped", stdout2);
            Assert.Equal(metrics, File.ReadAllText(Path.Combine(run, "metrics.jsonl")));

            // without --resume an existing run is refused (bad input: exit 2)
            var (exit3, _, err3) = CliHarness.Run(new RunCommand().Build(), recipe, "--out", run);
            Assert.Equal(2, exit3);
            Assert.Contains("pass --resume", err3);
        }
        finally { dir.Delete(true); }
    }
}
