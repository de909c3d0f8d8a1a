namespace Distill.Training.Losses;

/// <summary>
/// PLaD ranking calibration loss (Zhang et al. 2024, "PLaD: Preference-based Large Language Model
/// Distillation with Pseudo-Preference Pairs", §4.3 Eq. 4; the paper's δ is its margin hyper-parameter).
/// No reference model. Checked end to end (logits → loss → dlogits) by preference_reference.py.
/// ℓ = (1/|y|) Σ_t log pθ(y_t|x, y_&lt;t) (pass SequenceLogProb's logp_mean; the summed form for the
/// length-normalisation ablation; pθ is softmax(z/τ), §3.1 Eq. 1); y⁺ = teacher sample, y⁻ = student sample.
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
