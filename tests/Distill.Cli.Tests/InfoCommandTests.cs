using Distill.Cli.Commands;

namespace Distill.Cli.Tests;

/// <summary>`distill info --model`: what a folder holds (class, config.json generation, tensor-name layout), without loading it.</summary>
[Collection("console")]
public class InfoCommandTests
{
    static string Reference(string name) => Path.Combine(CliHarness.Root(), "tests", "Distill.Models.Tests", "reference", "models", name);

    [Theory]
    [InlineData("gpt2", "GPT2LMHeadModel", "transformers 4 config.json", "layout   prefixed: 'transformer.'-prefixed")]
    [InlineData("gpt2-original", "GPT2LMHeadModel", "transformers 4 config.json", "layout   unprefixed: tensor names without the 'transformer.' prefix")]
    [InlineData("qwen2-v5", "Qwen2ForCausalLM", "transformers 5 config.json (rope_theta 20000", "layout   unprefixed: tensor names without the 'model.' prefix")]
    public void SaysWhichLayoutAndConfigGenerationItFound(string folder, string architecture, string config, string layout)
    {
        var (exit, output, err) = CliHarness.Run(new InfoCommand().Build(), "--model", Reference(folder));
        Assert.True(exit == 0, err);
        Assert.Contains(architecture, output);
        Assert.Contains(config, output);
        Assert.Contains(layout, output);
    }

    [Fact]
    public void AFolderWithoutConfigExitsTwoWithOneLine()
    {
        var (exit, _, err) = CliHarness.Run(new InfoCommand().Build(), "--model", Directory.CreateTempSubdirectory("info").FullName);
        Assert.Equal(2, exit);
        Assert.StartsWith("distill info: ", err);
        Assert.Contains("no config.json", err);
    }
}
