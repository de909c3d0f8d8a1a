using Distill.Data.Benchmarks;
using Distill.Evaluation.Scoring;
using Distill.Tensors;

namespace Distill.Methods.Preference;

/// <summary>What scoring did to a set of pairs.</summary>
public sealed record ScoringReport(int Scored, int Relabelled, int Swapped, string Scorer);

/// <summary>
/// A scoring function s on pairs (PLaD §4.3: ROUGE against a reference, a reward model, tests passed, or a judge):
/// scores for the margin calibration loss (Eq. 5), and PLaD §5.3's ablation that replaces a fraction of the pseudo
/// pairs by "real" ones — the scorer orders the two sides (the higher score becomes chosen; a tie keeps the pseudo
/// order). The relabelled subset is a seeded draw, so a run picks the same pairs every time.
/// </summary>
public static class PairScoring
{
    /// <param name="relabelFraction">share of pairs ordered by the scorer (0 = all pseudo, 1 = all "real").</param>
    /// <param name="scoreAll">score every pair (the margin loss needs s(y⁺), s(y⁻) for all), not only the relabelled ones.</param>
    /// <param name="task">the code task of a prompt index, for the tests scorer; null otherwise.</param>
    public static async Task<(List<PreferencePair> Pairs, ScoringReport Report)> ApplyAsync(IReadOnlyList<PreferencePair> pairs, IScorer scorer,
        double relabelFraction, bool scoreAll, ulong seed, Func<int, CodeTask?>? task = null, CancellationToken ct = default)
    {
        if (!(relabelFraction is >= 0 and <= 1)) throw new ArgumentOutOfRangeException(nameof(relabelFraction), $"the relabelled fraction must be in [0, 1], got {relabelFraction}");
        int n = pairs.Count;
        var relabel = new bool[n];
        var order = Enumerable.Range(0, n).ToArray();
        var rng = new Rng(seed);
        for (int i = n - 1; i > 0; i--)   // Fisher–Yates with the run's generator
        {
            int j = rng.NextInt(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
        int take = (int)Math.Round(relabelFraction * n, MidpointRounding.AwayFromZero);
        for (int k = 0; k < take; k++) relabel[order[k]] = true;

        var result = new List<PreferencePair>(n);
        int scored = 0, swapped = 0;
        for (int i = 0; i < n; i++)
        {
            var p = pairs[i];
            if (!relabel[i] && !scoreAll) { result.Add(p); continue; }
            var t = task?.Invoke(p.PromptIndex);
            double sc = await scorer.ScoreAsync(new ScoringInput(p.Prompt, p.Chosen.Text, p.Reference, t), ct).ConfigureAwait(false);
            double sr = await scorer.ScoreAsync(new ScoringInput(p.Prompt, p.Rejected.Text, p.Reference, t), ct).ConfigureAwait(false);
            if (!double.IsFinite(sc) || !double.IsFinite(sr))
                throw new InvalidOperationException($"scorer '{scorer.Name}' gave a non-finite score to pair {i} (prompt {p.PromptIndex}); the margin loss needs finite scores");
            scored++;
            var q = p with { ChosenScore = sc, RejectedScore = sr };
            if (relabel[i])
            {
                q = q with { Label = "scored" };
                if (sr > sc) { q = q.Swapped(); swapped++; }
            }
            result.Add(q);
        }
        return (result, new ScoringReport(scored, take, swapped, scorer.Name));
    }
}
