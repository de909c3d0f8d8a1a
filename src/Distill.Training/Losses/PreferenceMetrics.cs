namespace Distill.Training.Losses;

/// <summary>
/// TRL's DPO metrics, logged for every preference loss (REFERENCE.md "DPO and its relatives"):
/// rewards/chosen = mean(β·c), rewards/rejected = mean(β·r), rewards/margins = mean(β·c − β·r),
/// rewards/accuracies = mean(β·c &gt; β·r), logps/chosen and logps/rejected = mean policy log-probs
/// (of whatever the loss was given: summed for DPO/hinge, length-normalised for IPO/PLaD).
/// c = log πθ(y_c) − log π_ref(y_c); for the reference-free PLaD losses the reference is 0 and the
/// scale is 1, so the "rewards" are the length-normalised log-likelihoods ℓθ themselves.
/// Watching chosen and rejected together explains the common surprise that rewards/chosen falls while
/// the margin grows: both sides lose likelihood, the rejected side faster.
/// </summary>
public readonly record struct PreferenceMetrics(
    float RewardsChosen, float RewardsRejected, float RewardsMargins, float RewardsAccuracies, float LogpsChosen, float LogpsRejected)
{
    /// <summary>The metrics under TRL's names, for metrics.jsonl.</summary>
    public IReadOnlyDictionary<string, float> ToDictionary() => new Dictionary<string, float>
    {
        ["rewards/chosen"] = RewardsChosen,
        ["rewards/rejected"] = RewardsRejected,
        ["rewards/margins"] = RewardsMargins,
        ["rewards/accuracies"] = RewardsAccuracies,
        ["logps/chosen"] = LogpsChosen,
        ["logps/rejected"] = LogpsRejected,
    };

    /// <summary>Metrics of a batch; refChosen/refRejected empty means a zero reference (reference-free losses).</summary>
    public static PreferenceMetrics From(float beta, ReadOnlySpan<float> policyChosen, ReadOnlySpan<float> policyRejected,
        ReadOnlySpan<float> refChosen, ReadOnlySpan<float> refRejected)
    {
        int n = policyChosen.Length;
        if (n == 0) return default;
        double rc = 0, rr = 0, acc = 0, lc = 0, lr = 0;
        for (int i = 0; i < n; i++)
        {
            float c = beta * (policyChosen[i] - (refChosen.IsEmpty ? 0f : refChosen[i]));
            float r = beta * (policyRejected[i] - (refRejected.IsEmpty ? 0f : refRejected[i]));
            rc += c; rr += r; acc += c > r ? 1 : 0;
            lc += policyChosen[i]; lr += policyRejected[i];
        }
        return new((float)(rc / n), (float)(rr / n), (float)((rc - rr) / n), (float)(acc / n), (float)(lc / n), (float)(lr / n));
    }
}

/// <summary>A preference loss over a batch of B pairs: the mean loss and the metrics; gradients are written beside it.</summary>
public readonly record struct PreferenceLossResult(float Loss, PreferenceMetrics Metrics);

/// <summary>Shape checks shared by the preference losses.</summary>
internal static class PreferencePairs
{
    public static int Check(string who, ReadOnlySpan<float> policyChosen, ReadOnlySpan<float> policyRejected,
        ReadOnlySpan<float> refChosen, ReadOnlySpan<float> refRejected, Span<float> dPolicyChosen, Span<float> dPolicyRejected, bool needsReference)
    {
        int n = policyChosen.Length;
        if (n == 0) throw new ArgumentException($"{who}: empty batch (no pairs)");
        if (policyRejected.Length != n) throw new ArgumentException($"{who}: {n} chosen but {policyRejected.Length} rejected policy log-probs");
        if (needsReference && (refChosen.Length != n || refRejected.Length != n))
            throw new ArgumentException($"{who}: reference log-probs need {n} chosen and {n} rejected values, got {refChosen.Length} and {refRejected.Length}");
        if (dPolicyChosen.Length != n || dPolicyRejected.Length != n)
            throw new ArgumentException($"{who}: gradient buffers need {n} values each, got {dPolicyChosen.Length} and {dPolicyRejected.Length}");
        for (int i = 0; i < n; i++)
            if (!float.IsFinite(policyChosen[i]) || !float.IsFinite(policyRejected[i]) || (needsReference && (!float.IsFinite(refChosen[i]) || !float.IsFinite(refRejected[i]))))
                throw new ArgumentException($"{who}: pair {i} has a non-finite log-probability");
        return n;
    }

    public static void CheckBeta(float beta, string who)
    {
        if (!(beta > 0) || !float.IsFinite(beta)) throw new ArgumentOutOfRangeException(nameof(beta), $"{who}: beta must be positive and finite, got {beta}");
    }
}
