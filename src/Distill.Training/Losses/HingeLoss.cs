namespace Distill.Training.Losses;

/// <summary>
/// SLiC hinge (Zhao et al. 2023, calibration loss), as TRL's DPOTrainer.dpo_loss with loss_type="hinge":
/// Δ = (πc − rc) − (πr − rr) on summed log-probs;  L = max(0, 1 − βΔ);  dL/dΔ = −β where 1 − βΔ &gt; 0, else 0
/// (the subgradient at the kink is 0, as torch.relu takes it). Mean over pairs; gradients ADDED.
/// </summary>
public static class HingeLoss
{
    public static PreferenceLossResult Compute(ReadOnlySpan<float> policyChosen, ReadOnlySpan<float> policyRejected,
        ReadOnlySpan<float> refChosen, ReadOnlySpan<float> refRejected, float beta, Span<float> dPolicyChosen, Span<float> dPolicyRejected)
    {
        PreferencePairs.CheckBeta(beta, "hinge");
        int n = PreferencePairs.Check("hinge", policyChosen, policyRejected, refChosen, refRejected, dPolicyChosen, dPolicyRejected, needsReference: true);
        double total = 0;
        for (int i = 0; i < n; i++)
        {
            float x = 1f - beta * ((policyChosen[i] - refChosen[i]) - (policyRejected[i] - refRejected[i]));
            if (x <= 0f) continue;
            total += x;
            dPolicyChosen[i] += -beta / n;
            dPolicyRejected[i] += beta / n;
        }
        return new((float)(total / n), PreferenceMetrics.From(beta, policyChosen, policyRejected, refChosen, refRejected));
    }
}
