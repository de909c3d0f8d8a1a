using Distill.Data.BuiltInTask;
using Distill.Evaluation.Code;
using Distill.Evaluation.Sandbox;

namespace Distill.Evaluation.Tests;

/// <summary>
/// The built-in task's expected outputs are computed in C# (Operations' Eval); CPython in the
/// sandbox must agree on every one: each reference solution passes its own hidden tests, and a
/// wrong solution fails them. The whole default set: `distill data task --verify`.
/// </summary>
public class BuiltInTaskSandboxTests
{
    [Fact]
    public async Task ReferenceSolutionsPassTheirHiddenTests_InTheSandbox()
    {
        // 240 problems from the three shards, every operation of the catalogue at least once
        var problems = Enum.GetValues<Shard>().SelectMany(s => TaskGenerator.Generate(s, 80, 11)).ToList();
        var covered = problems.SelectMany(p => p.Steps).Select(o => o.Id).ToHashSet();
        var pool = Enum.GetValues<Shard>().SelectMany(s => TaskGenerator.Generate(s, 1000, 5)).ToList();
        foreach (var o in Operations.All.Where(o => !covered.Contains(o.Id)))
            if ((ProblemFactory.TryBuild(o.In, [o], out _) ?? pool.FirstOrDefault(p => p.Steps.Contains(o))) is { } p) problems.Add(p);
        var missing = Operations.All.Where(o => !problems.Any(p => p.Steps.Contains(o))).Select(o => o.Id).ToList();
        Assert.True(missing.Count == 0, "never drawn: " + string.Join(", ", missing));
        var tasks = problems.Select(p => p.ToCodeTask()).ToList();
        var report = await CodeEvaluator.EvaluateAsync(tasks, CodeEvaluator.CanonicalSamples(tasks), new SandboxOptions { TimeoutSeconds = 20 }, 2);
        var failures = report.Tasks.Where(t => t.C != t.N).Select(t => $"{t.TaskId}: {t.Samples[0].Result.StatusName} {t.Samples[0].Result.Error}").ToList();
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public async Task AWrongSolutionFailsTheHiddenTests()
    {
        var p = ProblemFactory.Parse("list[int] -> keep_even | times(3) | sum");
        var wrong = p.Prompt + p.CanonicalSolution.Replace("x * 3", "x * 2");
        var task = p.ToCodeTask();
        var report = await CodeEvaluator.EvaluateAsync([task], [new CodeSample(task.TaskId, wrong)], new SandboxOptions { TimeoutSeconds = 20 }, 1);
        Assert.Equal(0, report.Tasks[0].C);
    }
}
