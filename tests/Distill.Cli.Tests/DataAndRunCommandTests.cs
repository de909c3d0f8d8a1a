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
    public void Run_UnknownKeyFailsFast_AndTrainSaysNotWired()
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
            File.WriteAllText(recipe, "method: sft\nstudent:\n  model: /m\n");
            var (exit3, out3, err3) = CliHarness.Run(new RunCommand().Build(), recipe, "--out", Path.Combine(dir.FullName, "run"), "--set", "data.n=5");
            Assert.Equal(1, exit3);
            Assert.Contains("train: not yet wired", err3);
            Assert.Contains("[data] 5 records", out3);
            Assert.True(File.Exists(Path.Combine(dir.FullName, "run", "stages", "data.json")));
            Assert.Contains("n: 5", File.ReadAllText(Path.Combine(dir.FullName, "run", "recipe.yaml")));
        }
        finally { dir.Delete(true); }
    }
}
