using Distill.Data.Benchmarks;
using Distill.Evaluation.Code;
using Distill.Evaluation.Judge;
using Distill.Evaluation.Rouge;
using Distill.Evaluation.Sandbox;

namespace Distill.Evaluation.Scoring;

/// <summary>
/// Fraction of a code task's tests the response passes, in the sandbox. MBPP-style asserts run one
/// statement per sandboxed run (so one failure does not hide the others); HumanEval's check() is a
/// single test, so the score is 0 or 1.
/// </summary>
public sealed class TestsPassedScorer(SandboxOptions options) : IScorer
{
    public string Name => "tests";

    public async Task<double> ScoreAsync(ScoringInput input, CancellationToken ct = default)
    {
        var task = input.Task ?? throw new ArgumentException("the tests scorer needs a code task");
        var program = CodeExtraction.Program(task, input.Response);
        if (task.Style == TestStyle.Check)
            return (await TestHarness.RunAsync(CodeEvaluator.Job(task, program), options).ConfigureAwait(false)).Status == SandboxStatus.Passed ? 1 : 0;
        var asserts = task.Test.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        int passed = 0;
        foreach (var a in asserts)
        {
            ct.ThrowIfCancellationRequested();
            var job = new TestJob(program, task.TestSetup, a + "\n", task.EntryPoint);
            if ((await TestHarness.RunAsync(job, options).ConfigureAwait(false)).Status == SandboxStatus.Passed) passed++;
        }
        return asserts.Length == 0 ? 0 : (double)passed / asserts.Length;
    }
}

/// <summary>ROUGE-L F-measure (or another variant) of the response against the reference, in [0, 1].</summary>
public sealed class RougeReferenceScorer(bool useStemmer = true, string variant = "rougeL") : IScorer
{
    readonly RougeScorer _rouge = new(useStemmer);
    public string Name => variant;

    public Task<double> ScoreAsync(ScoringInput input, CancellationToken ct = default)
    {
        var s = _rouge.Score(input.Reference ?? throw new ArgumentException("ROUGE needs a reference"), input.Response);
        return Task.FromResult(variant switch
        {
            "rouge1" => s.Rouge1.FMeasure,
            "rouge2" => s.Rouge2.FMeasure,
            "rougeL" => s.RougeL.FMeasure,
            "rougeLsum" => s.RougeLsum.FMeasure,
            _ => throw new ArgumentException($"unknown ROUGE variant {variant}"),
        });
    }
}

/// <summary>LLM judge of the response against the reference, both orders: 1 win, ½ tie, 0 loss; NaN when unparseable.</summary>
public sealed class JudgeScorer(PairwiseJudge judge) : IScorer
{
    public string Name => "judge";

    public async Task<double> ScoreAsync(ScoringInput input, CancellationToken ct = default)
    {
        var j = await judge.JudgeAsync(input.Prompt, input.Response, input.Reference ?? throw new ArgumentException("the judge scorer needs a reference"), ct).ConfigureAwait(false);
        return j.Outcome switch { PairOutcome.Win => 1, PairOutcome.Tie => 0.5, PairOutcome.Loss => 0, _ => double.NaN };
    }
}

/// <summary>The reward model's scalar for (prompt, response).</summary>
public sealed class RewardModelScorer(IRewardModel model) : IScorer
{
    public string Name => "reward";
    public Task<double> ScoreAsync(ScoringInput input, CancellationToken ct = default) => model.RewardAsync(input.Prompt, input.Response, ct);
}
