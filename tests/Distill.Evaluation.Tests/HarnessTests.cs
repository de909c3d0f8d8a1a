using Distill.Evaluation.Sandbox;

namespace Distill.Evaluation.Tests;

/// <summary>The two-process harness gives the original harness's verdicts on honest programs.</summary>
public class HarnessTests
{
    static readonly SandboxOptions O = new() { TimeoutSeconds = 5, MemoryMb = 512 };
    static SandboxResult Run(string solution, string tests, string? entry = null, string prelude = "")
        => TestHarness.RunAsync(new TestJob(solution, prelude, tests, entry), O).GetAwaiter().GetResult();

    [Fact]
    public void HumanEvalStyleCheckPassesAndFails()
    {
        const string test = "def check(candidate):\n    assert candidate(1, 2) == 3\n    assert candidate(-1, 1) == 0\n";
        Assert.Equal(SandboxStatus.Passed, Run("def add(a, b):\n    return a + b\n", test, "add").Status);
        var r = Run("def add(a, b):\n    return a - b\n", test, "add");
        Assert.Equal(SandboxStatus.Failed, r.Status);
        Assert.Equal("AssertionError\nINPUT: 1, 2\nOUTPUT: -1\nEXPECTED: 3", r.Error);
    }

    [Fact]
    public void TrustedPreludeHelpersStayTrusted()
    {
        // HumanEval/32-style: the tests call a helper from the prompt; the candidate's copy is ignored.
        const string prelude = "def poly(x):\n    return 2 * x\n\ndef solve(y):\n    \"\"\"stub\"\"\"\n";
        const string test = "def check(candidate):\n    assert poly(candidate(4)) == 4\n";
        Assert.Equal(SandboxStatus.Passed, Run(prelude + "def solve(y):\n    return y / 2\n", test, "solve", prelude).Status);
        Assert.Equal(SandboxStatus.Failed, Run("def poly(x):\n    return 4\ndef solve(y):\n    return 0\n", test, "solve", prelude).Status);
    }

    [Fact]
    public void ValuesKeepTheirPythonTypes()
    {
        const string src = "def f(k):\n    return {'t': (1, 2), 'l': [1, 2], 's': {3}, 'f': 0.1 + 0.2, 'n': float('nan'), 'b': b'x', 'd': {(1, 2): None}, 'big': 2**100, 'c': 1+2j}[k]\n";
        const string tests = """
            assert f('t') == (1, 2) and f('t') != [1, 2]
            assert f('l') == [1, 2] and f('l') != (1, 2)
            assert f('s') == {3}
            assert f('f') == 0.30000000000000004
            assert f('n') != f('n')
            assert f('b') == b'x'
            assert f('d') == {(1, 2): None}
            assert f('big') == 2**100
            assert f('c') == 1+2j
            assert type(f('t')) is tuple and type(f('big')) is int
            """;
        var r = Run(src, tests);
        Assert.True(r.Status == SandboxStatus.Passed, r.Error + r.Stderr);
    }

    [Fact]
    public void CandidateExceptionsArriveAsTheirBuiltinType()
    {
        const string tests = "try:\n    f(0)\n    raise SystemError('no raise')\nexcept ZeroDivisionError:\n    pass\nassert f(2) == 0.5\n";
        Assert.Equal(SandboxStatus.Passed, Run("def f(x):\n    return 1 / x\n", tests).Status);
        var r = Run("def f(x):\n    raise KeyError('boom')\n", "assert f(1) == 2\n");
        Assert.Equal(SandboxStatus.Failed, r.Status);
        Assert.Equal("KeyError : 'boom'", r.Error);
    }

    [Fact]
    public void SyntaxErrorsAndBuiltinShadowingEntryPoints()
    {
        var r = Run("def f(x) return x\n", "assert f(1) == 1\n");
        Assert.Equal(SandboxStatus.Failed, r.Status);
        Assert.StartsWith("SyntaxError : ", r.Error);
        // MBPP/126 defines `sum`: with the entry point named, the tests call the candidate's.
        Assert.Equal(SandboxStatus.Passed, Run("def sum(a, b):\n    return a * b\n", "assert sum(2, 3) == 6\n", "sum").Status);
        // And stdlib modules used by tests without importing them come from the trusted side.
        Assert.Equal(SandboxStatus.Passed, Run("def g(t):\n    return 1\n", "assert g(()) == 1 and sys.maxsize > 0\n").Status);
    }

    [Fact]
    public void ObjectsTypesAndHugeIntsCross()
    {
        // MBPP/601: tests build objects of the candidate's class and pass them back (opaque handles).
        const string pair = "class Pair:\n    def __init__(self, a, b):\n        self.a, self.b = a, b\ndef total(ps):\n    return sum(p.a + p.b for p in ps)\n";
        Assert.Equal(SandboxStatus.Passed, Run(pair, "assert total([Pair(1, 2), Pair(3, 4)]) == 10\nassert Pair(1, 2) != Pair(1, 2)\n").Status);
        // MBPP/367: setup run in the candidate's process defines `root`; the tests pass it by name.
        Assert.Equal(SandboxStatus.Passed, Run(pair + "root = Pair(5, 6)\n", "assert total([root]) == 11\n").Status);
        // MBPP/533: builtin types as arguments; HumanEval+/83: integers beyond 4300 digits.
        Assert.Equal(SandboxStatus.Passed, Run("def keep(xs, t):\n    return [x for x in xs if not isinstance(x, t)]\n", "assert keep((1, 2.5, 'a'), int) == [2.5, 'a']\n").Status);
        Assert.Equal(SandboxStatus.Passed, Run("def big(n):\n    return 10 ** n\n", "assert big(5000) == 10 ** 5000\n").Status);
    }

    [Fact]
    public async Task SlowCandidateTimesOut()
    {
        var r = await TestHarness.RunAsync(new TestJob("def f(x):\n    while True: pass\n", "", "assert f(1) == 1\n", null), O with { TimeoutSeconds = 1 });
        Assert.True(r.Status == SandboxStatus.Timeout, $"{r.Status}: {r.Error} | stdout {r.Stdout} | stderr {r.Stderr}");
        Assert.InRange(r.WallSeconds, 0.9, 4);
    }
}
