using Distill.Evaluation.Judge;

namespace Distill.Evaluation.Scoring;

/// <summary>One prompt with the answers being compared.</summary>
public sealed record ComparisonItem(string Prompt, string Candidate, string Other);

/// <summary>
/// The PLaD paper's evaluation (Zhang et al. 2024): win rate of the student against the
/// references, and teacher-vs-student win rate, decided either by the pairwise LLM judge
/// (both orders) or by a scorer (higher score wins, equal scores tie; NaN is an error).
/// </summary>
public static class PladMetrics
{
    /// <summary>Win rate of <see cref="ComparisonItem.Candidate"/> over <see cref="ComparisonItem.Other"/> by the judge.</summary>
    public static async Task<(WinRateSummary Summary, List<PairJudgment> Judgments)> ByJudgeAsync(PairwiseJudge judge, IEnumerable<ComparisonItem> items, CancellationToken ct = default)
    {
        var judgments = new List<PairJudgment>();
        foreach (var it in items) judgments.Add(await judge.JudgeAsync(it.Prompt, it.Candidate, it.Other, ct).ConfigureAwait(false));
        return (WinRateSummary.From(judgments.Select(j => j.Outcome)), judgments);
    }

    /// <summary>Win rate by a scorer: each answer is scored alone, then compared.</summary>
    public static async Task<WinRateSummary> ByScorerAsync(IScorer scorer, IEnumerable<ComparisonItem> items, CancellationToken ct = default)
    {
        var outcomes = new List<PairOutcome>();
        foreach (var it in items)
        {
            double a = await scorer.ScoreAsync(new ScoringInput(it.Prompt, it.Candidate), ct).ConfigureAwait(false);
            double b = await scorer.ScoreAsync(new ScoringInput(it.Prompt, it.Other), ct).ConfigureAwait(false);
            outcomes.Add(Compare(a, b));
        }
        return WinRateSummary.From(outcomes);
    }

    public static PairOutcome Compare(double a, double b) =>
        double.IsNaN(a) || double.IsNaN(b) ? PairOutcome.Error : a > b ? PairOutcome.Win : a < b ? PairOutcome.Loss : PairOutcome.Tie;

    /// <summary>Student vs reference: items (prompt, student answer, reference answer).</summary>
    public static Task<(WinRateSummary, List<PairJudgment>)> StudentVsReferenceAsync(PairwiseJudge judge, IEnumerable<(string Prompt, string Student, string Reference)> rows, CancellationToken ct = default)
        => ByJudgeAsync(judge, rows.Select(r => new ComparisonItem(r.Prompt, r.Student, r.Reference)), ct);

    /// <summary>Teacher vs student: the teacher's win rate over the student (lower means the student caught up).</summary>
    public static Task<(WinRateSummary, List<PairJudgment>)> TeacherVsStudentAsync(PairwiseJudge judge, IEnumerable<(string Prompt, string Teacher, string Student)> rows, CancellationToken ct = default)
        => ByJudgeAsync(judge, rows.Select(r => new ComparisonItem(r.Prompt, r.Teacher, r.Student)), ct);
}
