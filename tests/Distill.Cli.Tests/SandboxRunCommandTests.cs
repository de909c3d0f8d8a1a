using System.Text.Json.Nodes;
using Distill.Cli.Commands;

namespace Distill.Cli.Tests;

/// <summary>`distill sandbox run --isolation`: each path is selectable and the verdict names the one used (issue 12).</summary>
[Collection("console")]
public class SandboxRunCommandTests
{
    [Theory]
    [InlineData("bwrap")]
    [InlineData("unshare")]
    public void IsolationIsSelectedAndReported(string isolation)
    {
        var program = Path.Combine(Directory.CreateTempSubdirectory("sbx").FullName, "p.py");
        File.WriteAllText(program, "print('hi')\n");
        var (exit, stdout, stderr) = CliHarness.Run(new SandboxRunCommand().Build(), program, "--isolation", isolation, "--json");
        Assert.True(exit == 0, stderr + stdout);
        var verdict = JsonNode.Parse(stdout)!;
        Assert.Equal("passed", (string?)verdict["status"]);
        Assert.Equal("hi\n", (string?)verdict["stdout"]);
        Assert.StartsWith(isolation, (string?)verdict["isolation"]);
    }

    [Fact]
    public void UnknownIsolationIsRefused()
    {
        var (exit, _, stderr) = CliHarness.Run(new SandboxRunCommand().Build(), "p.py", "--isolation", "chroot");
        Assert.NotEqual(0, exit);
        Assert.Contains("chroot", stderr);
    }
}
