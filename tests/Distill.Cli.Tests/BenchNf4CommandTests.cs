using System.Text.Json.Nodes;
using Distill.Cli.Commands;

namespace Distill.Cli.Tests;

/// <summary>`distill bench nf4`: bad input exits 2 with a reason; a short run prints the JSON figures.</summary>
[Collection("console")]
public class BenchNf4CommandTests
{
    static string Root()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d != null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Distill.slnx"))) return d.FullName;
        throw new InvalidOperationException("repo root not found");
    }

    static (int Exit, string Out, string Err) Run(params string[] args)
    {
        var (stdout, stderr) = (Console.Out, Console.Error);
        var (o, e) = (new StringWriter(), new StringWriter());
        Console.SetOut(o);
        Console.SetError(e);
        try { return (new BenchNf4Command().Build().Parse(args).Invoke(), o.ToString(), e.ToString()); }
        finally { Console.SetOut(stdout); Console.SetError(stderr); }
    }

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
        string mbpp = Path.Combine(Root(), "..", "shared", "data", "benchmarks", "mbpp", "mbpp.jsonl");
        var (exit, output, _) = Run("--train-steps", "2", "--no-cache", "--skip-random", "--json", "--mbpp", mbpp);
        Assert.Equal(0, exit);
        var trained = JsonNode.Parse(output)!["trained_bytellama"]!;
        Assert.Equal(2, trained["train"]!["steps"]!.GetValue<int>());
        Assert.InRange(trained["nf4_linear_bytes_per_param"]!.GetValue<double>(), 0.5, 0.6);
        Assert.InRange(trained["top1_agreement"]!.GetValue<double>(), 0.0, 1.0);
        Assert.True(trained["mean_kl"]!.GetValue<double>() >= 0);
    }
}
