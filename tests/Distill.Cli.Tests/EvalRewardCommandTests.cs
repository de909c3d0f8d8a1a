using System.Text.Json.Nodes;
using Distill.Cli.Commands;
using Distill.Methods.Scoring;
using Distill.Models;
using Distill.Models.Formats;

namespace Distill.Cli.Tests;

/// <summary>`distill eval reward` and `eval winrate --reward-model` end to end on a tiny random reward model.</summary>
[Collection("console")]
public class EvalRewardCommandTests
{

    static readonly Lazy<string> Model = new(() =>
    {
        string gpt2 = CliHarness.Data("tokenizers", "gpt2");
        var dir = Directory.CreateTempSubdirectory("rm-cli").FullName;
        ModelFolder.Init(ModelFolder.ResolveConfig("tiny-reward", gpt2), gpt2, dir, seed: 3, SafetensorsDType.F32);
        return dir;
    });

    static (int Exit, string Out, string Err) Run(System.CommandLine.Command command, params string[] args) => CliHarness.Run(command, args);

    static string Jsonl(params JsonObject[] records)
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("rm-in").FullName, "in.jsonl");
        File.WriteAllLines(path, records.Select(r => r.ToJsonString()));
        return path;
    }

    [Fact]
    public void RewardAddsTheModelsRewardToEachRecord()
    {
        var input = Jsonl(
            new JsonObject { ["prompt"] = "Add two numbers.", ["response"] = "def add(a, b): return a + b", ["id"] = 1 },
            new JsonObject { ["prompt"] = "Name a prime.", ["completion"] = "7" });
        var output = Path.Combine(Path.GetDirectoryName(input)!, "out.jsonl");
        var (exit, _, err) = Run(new EvalRewardCommand().Build(), "--model", Model.Value, "--input", input, "--output", output);
        Assert.True(exit == 0, err);
        Assert.Contains("2 records", err);
        var lines = File.ReadAllLines(output).Select(l => JsonNode.Parse(l)!.AsObject()).ToArray();
        Assert.Equal(1, (int)lines[0]["id"]!);
        using var rm = LocalRewardModel.Load(Model.Value);
        var direct = rm.Rewards([("Add two numbers.", "def add(a, b): return a + b"), ("Name a prime.", "7")]);
        Assert.Equal(direct[0], (double)lines[0]["reward"]!, 6);
        Assert.Equal(direct[1], (double)lines[1]["reward"]!, 6);
    }

    [Fact]
    public void RewardTakesTheWeightsSwitch()
    {
        var input = Jsonl(new JsonObject { ["prompt"] = "Add two numbers.", ["response"] = "def add(a, b): return a + b" });
        var output = Path.Combine(Path.GetDirectoryName(input)!, "out-q8.jsonl");
        var (exit, _, err) = Run(new EvalRewardCommand().Build(), "--model", Model.Value, "--input", input, "--output", output, "--weights", "q8");
        Assert.True(exit == 0, err);
        Assert.Contains("weights q8", err);
        using var rm = LocalRewardModel.Load(Model.Value, weights: InferenceWeights.Q8);
        Assert.Equal(rm.Rewards([("Add two numbers.", "def add(a, b): return a + b")])[0], (double)JsonNode.Parse(File.ReadAllLines(output)[0])!["reward"]!, 6);
        var (bad, _, badErr) = Run(new EvalRewardCommand().Build(), "--model", Model.Value, "--input", input, "--weights", "int4");
        Assert.NotEqual(0, bad);
        Assert.Contains("f32|q8|q8row|bf16", badErr);
    }

    [Fact]
    public void WinRateByRewardModelFollowsFromTheRewards()
    {
        var input = Jsonl(
            new JsonObject { ["prompt"] = "Add two numbers.", ["a"] = "def add(a, b): return a + b", ["b"] = "no idea" },
            new JsonObject { ["prompt"] = "Name a prime.", ["a"] = "7", ["b"] = "7" },
            new JsonObject { ["prompt"] = "Summarize: cats sit.", ["a"] = "Cats sit.", ["b"] = "Cats are animals that sometimes sit down." },
            new JsonObject { ["prompt"] = "Say hi.", ["a"] = "hi", ["b"] = "hello there" });
        var scores = Path.Combine(Path.GetDirectoryName(input)!, "scores.jsonl");
        var (exit, output, err) = Run(new EvalWinrateCommand().Build(), "--reward-model", Model.Value, "--input", input, "--scores-out", scores, "--json");
        Assert.True(exit == 0, err);
        var result = JsonNode.Parse(output)!;
        var rows = File.ReadAllLines(scores).Select(l => JsonNode.Parse(l)!).ToArray();
        Assert.Equal(4, rows.Length);
        int wins = rows.Count(r => (double)r["score_a"]! > (double)r["score_b"]!);
        int losses = rows.Count(r => (double)r["score_a"]! < (double)r["score_b"]!);
        Assert.Equal(wins, (int)result["wins"]!);
        Assert.Equal(losses, (int)result["losses"]!);
        Assert.Equal(1, (int)result["ties"]!);                       // identical answers get identical rewards
        using var rm = LocalRewardModel.Load(Model.Value);
        Assert.Equal(rm.Rewards([("Say hi.", "hello there")])[0], (double)rows[3]["score_b"]!, 6);
    }

    [Fact]
    public void BadRecordsAndModelsAreNamed()
    {
        var input = Jsonl(new JsonObject { ["prompt"] = "p", ["response"] = "r" }, new JsonObject { ["prompt"] = "p" });
        var (exit, _, err) = Run(new EvalRewardCommand().Build(), "--model", Model.Value, "--input", input);
        Assert.Equal(2, exit);
        Assert.Contains($"{input}:2", err);
        Assert.Contains("response", err);
        var (exit2, _, err2) = Run(new EvalWinrateCommand().Build(), "--reward-model", "/nonexistent/rm", "--input", Jsonl(new JsonObject { ["prompt"] = "p", ["a"] = "x", ["b"] = "y" }));
        Assert.Equal(2, exit2);
        Assert.Contains("/nonexistent/rm", err2);
    }
}
