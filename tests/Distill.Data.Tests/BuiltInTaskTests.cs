using Distill.Data.BuiltInTask;

namespace Distill.Data.Tests;

public class BuiltInTaskTests
{
    [Fact]
    public void SameSeedSameProblems_OtherSeedOthers()
    {
        var a = TaskGenerator.Generate(Shard.Train, 50, 7);
        var b = TaskGenerator.Generate(Shard.Train, 50, 7);
        var c = TaskGenerator.Generate(Shard.Train, 50, 8);
        Assert.Equal(a.Select(p => p.Prompt + p.Test), b.Select(p => p.Prompt + p.Test));
        Assert.NotEqual(a.Select(p => p.TaskId), c.Select(p => p.TaskId));
    }

    [Fact]
    public void ShardsAreDisjointInPrograms_AndEachSetHasNoDuplicates()
    {
        var sets = Enum.GetValues<Shard>().ToDictionary(s => s, s => TaskGenerator.Generate(s, 300, 1).Concat(TaskGenerator.Generate(s, 300, 2)).ToList());
        foreach (var (shard, set) in sets)
        {
            Assert.All(set, p => Assert.Equal(shard, p.Shard));
            // within one generated set: no two problems with the same program or the same behaviour
            var one = TaskGenerator.Generate(shard, 300, 1);
            Assert.Equal(one.Count, one.Select(p => p.BehaviourHash).Distinct().Count());
            Assert.Equal(one.Count, one.Select(p => p.CanonicalSolution).Distinct().Count());
        }
        foreach (var x in Enum.GetValues<Shard>())
            foreach (var y in Enum.GetValues<Shard>().Where(y => y > x))
            {
                Assert.Empty(sets[x].Select(p => p.BehaviourHash).Intersect(sets[y].Select(p => p.BehaviourHash)));
                Assert.Empty(sets[x].Select(p => p.Composition).Intersect(sets[y].Select(p => p.Composition)));
                Assert.Empty(sets[x].Select(p => p.Code).Intersect(sets[y].Select(p => p.Code)));
            }
    }

    [Fact]
    public void EquivalentPrograms_ShareOneShard()
    {
        var a = ProblemFactory.Parse("list[int] -> sort_desc | first");
        var b = ProblemFactory.Parse("list[int] -> sort | last");
        Assert.NotEqual(a.Composition, b.Composition);
        Assert.Equal(a.BehaviourHash, b.BehaviourHash);
        Assert.Equal(a.Shard, b.Shard);
    }

    [Fact]
    public void DefaultSizesAreReachable_WithAllDifficulties()
    {
        var test = TaskGenerator.Generate(Shard.Test, TaskGenerator.DefaultSizes[Shard.Test], 0);
        Assert.Equal(500, test.Count);
        var byDepth = test.GroupBy(p => p.Difficulty).ToDictionary(g => g.Key, g => g.Count());
        Assert.True(byDepth.GetValueOrDefault(1) >= 5, $"depth 1: {byDepth.GetValueOrDefault(1)}");
        Assert.True(byDepth.GetValueOrDefault(2) >= 100 && byDepth.GetValueOrDefault(3) >= 100, string.Join(", ", byDepth));
        Assert.True(test.Select(p => p.Input).Distinct().Count() == 4);
    }

    [Fact]
    public void DescriptionsAreVaried()
    {
        var set = TaskGenerator.Generate(Shard.Train, 400, 3);
        var openings = set.Select(p => string.Join(" ", p.Description.Split(' ').Take(5))).Distinct().Count();
        Assert.True(openings >= 10, $"{openings} distinct openings");
        // a step that has several phrasings is written in more than one of them across the set
        var op = Operations.ById["keep_even"];
        var used = set.Where(p => p.Steps.Take(p.Steps.Count - 1).Contains(op) || p.Steps[^1] == op)
            .Select(p => op.Clauses.FirstOrDefault(c => p.Description.Contains(c))).Where(c => c is not null).Distinct().Count();
        Assert.True(used >= 2, $"keep_even phrased {used} way(s)");
    }

    [Fact]
    public void PromptIsHumanEvalStyle_WithTwoVisibleExamples_AndMoreHiddenTests()
    {
        var p = ProblemFactory.Parse("list[int] -> keep_even | times(3) | sum");
        Assert.StartsWith($"def {p.EntryPoint}(numbers: list[int]) -> int:\n    \"\"\"", p.Prompt);
        Assert.Equal(2, p.Prompt.Split(">>> ").Length - 1);
        Assert.EndsWith("    \"\"\"\n", p.Prompt);
        Assert.Equal(ProblemFactory.TestCount, p.Test.Split("assert candidate(").Length - 1);
        Assert.Contains("def check(candidate):", p.Test);
        Assert.Equal("    result = [x for x in numbers if x % 2 == 0]\n    result = [x * 3 for x in result]\n    return sum(result)\n", p.CanonicalSolution);
        Assert.Equal(3, p.Difficulty);
        Assert.Contains("[]", p.Test); // the edge case
    }

    [Fact]
    public void DegenerateCompositionsAreRefused()
    {
        Assert.Contains("changes nothing", Assert.Throws<FormatException>(() => ProblemFactory.Parse("list[int] -> square | abs | sum")).Message);
        Assert.Contains("hardly depends", Assert.Throws<FormatException>(() => ProblemFactory.Parse("list[int] -> times(2) | keep_odd | sum")).Message);
        Assert.Contains("takes", Assert.Throws<FormatException>(() => ProblemFactory.Parse("str -> sum")).Message);
        Assert.Contains("unknown step", Assert.Throws<FormatException>(() => ProblemFactory.Parse("str -> upper | nope")).Message);
    }

    /// <summary>
    /// Stable across versions: these problems' ids, hashes and shards are pinned. If this fails, an
    /// operation's id, code or the generator changed meaning — every shard would move.
    /// </summary>
    [Theory]
    [InlineData("list[int] -> keep_even | times(3) | sum", "56abe44e2ceb/41cb2b25495d/Train")]
    [InlineData("str -> words | longer_than(4) | join_dash", "eef27f73054b/8f8f30c68dfe/Train")]
    [InlineData("int -> digits | sort_desc", "f1172677b256/cf706ef80d42/Distill")]
    public void PinnedProblems(string composition, string pinned)
    {
        var p = ProblemFactory.Parse(composition);
        Assert.Equal(pinned, p.CompositionHash[..12] + "/" + p.BehaviourHash[..12] + "/" + p.Shard);
    }

    [Fact]
    public void PinnedSample()
    {
        var ids = TaskGenerator.Generate(Shard.Test, 3, 0).Select(p => p.TaskId);
        Assert.Equal("DistillTask/3618b27e1b26,DistillTask/d2a14e3e2690,DistillTask/8564110896e7", string.Join(",", ids));
    }

    [Fact]
    public void PythonIntegerSemantics()
    {
        Assert.Equal(2, (int)PyValue.Mod(-7, 3));
        Assert.Equal(-3, (int)PyValue.FloorDiv(-7, 3));
        Assert.Equal("-101", PyValue.Binary(-5));
        Assert.Equal("Hello World", PyValue.Title("hello wORLD"));
        Assert.Equal("['a', 'b']", PyValue.Repr(new List<string> { "a", "b" }));
    }

    [Fact]
    public void ViewsCarryTrlColumnsAndTestFields()
    {
        var p = ProblemFactory.Parse("str -> words | longer_than(4) | join_dash");
        var gen = TaskViews.Record(p, TaskView.Gen);
        var sum = TaskViews.Record(p, TaskView.Sum);
        foreach (var f in new[] { "prompt", "completion", "task_id", "entry_point", "test", "canonical_solution", "difficulty" })
        {
            Assert.NotNull(gen[f]);
            Assert.NotNull(sum[f]);
        }
        Assert.Equal(p.CanonicalSolution, (string)gen["completion"]!);
        Assert.Equal(p.Description, (string)sum["completion"]!);
        Assert.StartsWith(TaskViews.SummaryInstruction, (string)sum["prompt"]!);
        Assert.DoesNotContain(p.Description, (string)sum["prompt"]!);
    }
}
