namespace Distill.Training.Losses;

/// <summary>
/// PLaD ranking calibration loss (Zhang et al. 2024, "PLaD: Preference-based Large Language Model
/// Distillation with Pseudo-Preference Pairs"; REFERENCE.md "PLaD losses", formula taken from the paper's
/// description, not checked against its PDF). No reference model.
/// ℓ = (1/|y|) Σ_t log pθ(y_t|x, y_&lt;t) (pass SequenceLogProb's logp_mean); y⁺ = teacher sample, y⁻ = student sample.
/// L = max(0, δ − ℓ⁺ + ℓ⁻);  dL/dℓ⁺ = −1, dL/dℓ⁻ = +1 where the hinge is active (&gt; 0), else 0.
/// Mean over pairs; gradients ADDED. Metrics use scale 1 and a zero reference, so rewards are the ℓ's.
/// </summary>
public static class PladRankingLoss
{
    public static PreferenceLossResult Compute(ReadOnlySpan<float> chosenMeanLogp, ReadOnlySpan<float> rejectedMeanLogp, float margin,
        Span<float> dChosen, Span<float> dRejected)
    {
        if (!float.IsFinite(margin) || margin < 0) throw new ArgumentOutOfRangeException(nameof(margin), $"PLaD ranking: margin δ must be finite and ≥ 0, got {margin}");
        int n = PreferencePairs.Check("PLaD ranking", chosenMeanLogp, rejectedMeanLogp, default, default, dChosen, dRejected, needsReference: false);
        double total = 0;
        for (int i = 0; i < n; i++)
        {
            float x = margin - chosenMeanLogp[i] + rejectedMeanLogp[i];
            if (x <= 0f) continue;
            total += x;
            dChosen[i] -= 1f / n;
            dRejected[i] += 1f / n;
        }
        return new((float)(total / n), PreferenceMetrics.From(1f, chosenMeanLogp, rejectedMeanLogp, default, default));
    }
}
