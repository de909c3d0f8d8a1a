using System.Text.Json.Nodes;
using Distill.Bench.Cli.Commands;

namespace Distill.Cli.Tests;

/// <summary>`distill bench nf4`: bad input exits 2 with a reason; a short run prints the JSON figures.</summary>
[Collection("console")]
public class BenchNf4CommandTests
{

    static (int Exit, string Out, string Err) Run(params string[] args) => CliHarness.Run(new BenchNf4Command().Build(), args);

    [Theory]
    [InlineData("--train-steps", "0", "--train-steps must be at least 1")]
    [InlineData("--mbpp", "/nonexistent/mbpp.jsonl", "/nonexistent/mbpp.jsonl not found")]
    public void BadInputExitsWithAReason(string option, string value, string reason)
    {
        var (exit, _, err) = Run(option, value);
        Assert.Equal(2, exit);
        Assert.Contains(reason, err);
    }

    [Fact]
    public void ShortRunPrintsTheFigures()
    {
        string mbpp = CliHarness.Data("benchmarks", "mbpp", "mbpp.jsonl");
        var (exit, output, _) = Run("--train-steps", "2", "--no-cache", "--skip-random", "--json", "--mbpp", mbpp);
        Assert.Equal(0, exit);
        var trained = JsonNode.Parse(output)!["trained_bytellama"]!;
        Assert.Equal(2, trained["train"]!["steps"]!.GetValue<int>());
        Assert.InRange(trained["nf4_linear_bytes_per_param"]!.GetValue<double>(), 0.5, 0.6);
        Assert.InRange(trained["top1_agreement"]!.GetValue<double>(), 0.0, 1.0);
        Assert.True(trained["mean_kl"]!.GetValue<double>() >= 0);
    }
}
