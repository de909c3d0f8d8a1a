using Distill.Data.Benchmarks;
using Distill.Evaluation.Sandbox;
using Distill.Methods.Persd;

namespace Distill.Methods.Tests.Persd;

/// <summary>The execution feedback of REFERENCE.md (PERsD), from real sandbox runs against a task's visible tests.</summary>
public class FeedbackTests
{
    static readonly SandboxOptions O = new() { TimeoutSeconds = 3, MemoryMb = 512 };

    internal static PersdItem Task(string entry, string doc, string body, string hiddenTests)
    {
        var prompt = $"def {entry}(numbers: list) -> list:\n    \"\"\"{doc}\n    \"\"\"\n";
        var code = new CodeTask("T/" + entry, prompt, entry, "\n\ndef check(candidate):\n" + hiddenTests, body, TestStyle.Check);
        return PersdTasks.FromCodeTask(code, "builtin:train", PersdSplit.Train);
    }

    static async Task<string?> FeedbackFor(string body, string doc = "Double each number.\n    >>> double([1, 2])\n    [2, 4]")
    {
        var item = Task("double", doc, "    return [2 * x for x in numbers]\n", "    assert candidate([1, 2]) == [2, 4]\n");
        var r = await new CodeExecutor(O, null).RunAsync(item.Task.VisibleJob(PersdPrompts.Program(item.Task, body)));
        return ExecutionFeedback.Of(r, O.TimeoutSeconds);
    }

    [Fact]
    public async Task AssertionFailureShowsInputOutputExpected()
        => Assert.Equal("AssertionError\nINPUT: [1, 2]\nOUTPUT: [3, 4]\nEXPECTED: [2, 4]", await FeedbackFor("    return [x + 2 for x in numbers]\n"));

    [Fact]
    public async Task LongValuesAreCutTo50Characters()
    {
        var input = "[" + string.Join(", ", Enumerable.Range(100, 30)) + "]";
        var expected = "[" + string.Join(", ", Enumerable.Range(100, 30).Select(x => 2 * x)) + "]";
        var fb = await FeedbackFor("    return numbers\n", $"Double.\n    >>> double({input})\n    {expected}");
        var lines = fb!.Split('\n');
        Assert.Equal("AssertionError", lines[0]);
        Assert.Equal("INPUT: " + input[..50] + "...", lines[1]);
        Assert.Equal("OUTPUT: " + input[..50] + "...", lines[2]);
        Assert.Equal("EXPECTED: " + expected[..50] + "...", lines[3]);
    }

    [Fact]
    public async Task ExceptionIsTypeColonMessage()
        => Assert.Equal("ZeroDivisionError : division by zero", await FeedbackFor("    return [x / 0 for x in numbers]\n"));

    [Fact]
    public async Task SyntaxErrorIsReportedAsSuch()
    {
        var fb = await FeedbackFor("    return [x for x in numbers\n");
        Assert.StartsWith("SyntaxError : ", fb);
    }

    [Fact]
    public async Task TimeoutIsTimeoutError()
        => Assert.Equal("TimeoutError : the code did not finish within 3 s", await FeedbackFor("    while True:\n        pass\n"));

    [Fact]
    public async Task PassingCodeHasNoFeedback() => Assert.Null(await FeedbackFor("    return [x * 2 for x in numbers]\n"));

    [Fact]
    public void TheCutIsIdempotentAndKeepsShortValues()
    {
        var cut = ExecutionFeedback.CutValue(new string('a', 80));
        Assert.Equal(new string('a', 50) + "...", cut);
        Assert.Equal(cut, ExecutionFeedback.CutValue(cut));
        Assert.Equal("[1]", ExecutionFeedback.CutValue("[1]"));
        Assert.Equal("AssertionError\nINPUT: 1\nOUTPUT: " + new string('b', 50) + "...",
            ExecutionFeedback.Assertion("AssertionError\nINPUT: 1\nOUTPUT: " + new string('b', 70)));
    }

    [Fact]
    public void ASandboxFailureIsNotFeedback()
        => Assert.Throws<InvalidOperationException>(() => ExecutionFeedback.Of(new SandboxResult(SandboxStatus.SandboxError, null, "", "", "no bwrap", 0, "none"), 3));
}
