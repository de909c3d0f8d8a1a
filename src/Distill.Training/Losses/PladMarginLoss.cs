namespace Distill.Training.Losses;

/// <summary>
/// PLaD margin calibration loss (Zhang et al. 2024, §4.3 Eq. 5): the ranking margin scales with how much better the
/// scoring function s (reward model, ROUGE to a reference, tests passed, judge score) rates y⁺ than y⁻.
/// L = max(0, δ·(s⁺ − s⁻) − ℓ⁺ + ℓ⁻);  dL/dℓ⁺ = −1, dL/dℓ⁻ = +1 where active, else 0. The scores are
/// constants (no gradient). ℓ = length-normalised log-likelihood (SequenceLogProb's logp_mean).
/// Mean over pairs; gradients ADDED. Metrics as for <see cref="PladRankingLoss"/>.
/// </summary>
public static class PladMarginLoss
{
    public static PreferenceLossResult Compute(ReadOnlySpan<float> chosenMeanLogp, ReadOnlySpan<float> rejectedMeanLogp,
        ReadOnlySpan<float> chosenScore, ReadOnlySpan<float> rejectedScore, float delta, Span<float> dChosen, Span<float> dRejected)
    {
        if (!float.IsFinite(delta) || delta < 0) throw new ArgumentOutOfRangeException(nameof(delta), $"PLaD margin: δ must be finite and ≥ 0, got {delta}");
        int n = PreferencePairs.Check("PLaD margin", chosenMeanLogp, rejectedMeanLogp, default, default, dChosen, dRejected, needsReference: false);
        if (chosenScore.Length != n || rejectedScore.Length != n)
            throw new ArgumentException($"PLaD margin: scores need {n} chosen and {n} rejected values, got {chosenScore.Length} and {rejectedScore.Length}");
        double total = 0;
        for (int i = 0; i < n; i++)
        {
            if (!float.IsFinite(chosenScore[i]) || !float.IsFinite(rejectedScore[i])) throw new ArgumentException($"PLaD margin: pair {i} has a non-finite score");
            float x = delta * (chosenScore[i] - rejectedScore[i]) - chosenMeanLogp[i] + rejectedMeanLogp[i];
            if (x <= 0f) continue;
            total += x;
            dChosen[i] -= 1f / n;
            dRejected[i] += 1f / n;
        }
        return new((float)(total / n), PreferenceMetrics.From(1f, chosenMeanLogp, rejectedMeanLogp, default, default));
    }
}
