using System.Text.Json.Nodes;
using Distill.Cli.Commands;

namespace Distill.Cli.Tests;

/// <summary>
/// `distill data export-trl` / `import-trl` and `distill export --format trl` through the CLI's error path: a round trip
/// that keeps every row and provenance column, and bad input exiting 2 with the reason. The generated projects
/// themselves are checked in tests/Distill.Methods.Tests/ScaleOut.
/// </summary>
[Collection("console")]
public class TrlCommandsTests
{
    [Fact]
    public void ExportTrl_ThenImportTrl_GivesEveryRowBack()
    {
        var dir = Directory.CreateTempSubdirectory("trl-cli").FullName;
        string src = Path.Combine(dir, "pairs.jsonl"), trl = Path.Combine(dir, "pairs.trl.jsonl"), back = Path.Combine(dir, "back.jsonl");
        var rows = new[]
        {
            """{"prompt":"def f(x):\n","chosen":"    return x\n","rejected":"    pass\n","iteration":1,"label":"pseudo","rejected_sampling":{"answer_seed":3,"finish_reason":"stop"}}""",
            """{"prompt":"def g():\n","chosen":"    return 1\n","rejected":"    return 2\n","iteration":1,"label":"scored","chosen_score":0.8,"rejected_score":0.2}""",
        };
        File.WriteAllText(src, string.Join("\n", rows) + "\n");
        var (exit, _, err) = CliHarness.Run(new DataExportTrlCommand().Build(), "--in", src, "--style", "conversational", "--out", trl);
        Assert.True(exit == 0, err);
        Assert.Contains("2 records, TRL preference (conversational)", err);
        var first = JsonNode.Parse(File.ReadLines(trl).First())!;
        Assert.Equal("assistant", (string)first["chosen"]![0]!["role"]!);
        (exit, _, err) = CliHarness.Run(new DataImportTrlCommand().Build(), "--in", trl, "--out", back);
        Assert.True(exit == 0, err);
        var got = File.ReadAllLines(back);
        for (int i = 0; i < rows.Length; i++) Assert.True(JsonNode.DeepEquals(JsonNode.Parse(rows[i]), JsonNode.Parse(got[i])), got[i]);
    }

    [Fact]
    public void BadInput_Exits2_NamingWhatAndWhere()
    {
        var dir = Directory.CreateTempSubdirectory("trl-cli").FullName;
        var src = Path.Combine(dir, "multi.jsonl");
        File.WriteAllText(src, """{"messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b"},{"role":"user","content":"c"},{"role":"assistant","content":"d"}]}""" + "\n");
        var (exit, _, err) = CliHarness.Run(new DataImportTrlCommand().Build(), "--in", src, "--out", Path.Combine(dir, "o.jsonl"));
        Assert.Equal(2, exit);
        Assert.Contains("multi.jsonl: line 1: column \"messages\" holds a prompt of 3 turns", err);
        Assert.False(File.Exists(Path.Combine(dir, "o.jsonl")));

        (exit, _, err) = CliHarness.Run(new ExportCommand().Build(), "--format", "trl", "--out", Path.Combine(dir, "p"));
        Assert.Equal(2, exit);
        Assert.Contains("give --recipe RECIPE.yaml", err);
        (exit, _, err) = CliHarness.Run(new ExportCommand().Build(), "--format", "gguf", "--out", Path.Combine(dir, "x.gguf"));
        Assert.Equal(2, exit);
        Assert.Contains("needs --model DIR", err);
        var seqkd = Path.Combine(dir, "seqkd.yaml");
        File.WriteAllText(seqkd, "name: q\nmethod: seqkd\nstudent:\n  model: /m/s\nteacher:\n  model: openai:gpt-4o-mini\n");
        (exit, _, err) = CliHarness.Run(new ExportCommand().Build(), "--format", "trl", "--recipe", seqkd, "--out", Path.Combine(dir, "q"));
        Assert.Equal(2, exit);
        Assert.Contains("give --run RUN_DIR", err);
    }

    [Fact]
    public void ExportFormatTrl_WritesTheProject()
    {
        var dir = Directory.CreateTempSubdirectory("trl-cli").FullName;
        var (exit, stdout, err) = CliHarness.Run(new ExportCommand().Build(), "--format", "trl", "--recipe",
            Path.Combine(CliHarness.Root(), "recipes", "smoke", "sft.yaml"), "--out", Path.Combine(dir, "sft"));
        Assert.True(exit == 0, err);
        Assert.Contains("SFTTrainer for sft", stdout);
        foreach (var f in new[] { "train.py", "README.md", "requirements.txt", "data/train.jsonl", "accelerate/deepspeed_zero2.yaml" })
            Assert.True(File.Exists(Path.Combine(dir, "sft", f)), f);
        Assert.False(Directory.Exists(Path.Combine(dir, "sft", ".distill-run")));
    }
}
