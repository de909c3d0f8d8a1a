namespace Distill.Training.Losses;

/// <summary>
/// IPO (Azar et al. 2023, Eq. 17), as TRL's DPOTrainer.dpo_loss with loss_type="ipo": the log-probs are
/// LENGTH-NORMALISED first (TRL divides each sequence's summed log-prob by its completion length),
/// so pass the logp_mean output of SequenceLogProb for policy and reference.
/// Δ = (πc − rc) − (πr − rr) on the means;  L = (Δ − 1/(2β))²;  dL/dΔ = 2(Δ − 1/(2β)).
/// Mean over pairs; dL/dπc = (dL/dΔ)/B, dL/dπr = −(dL/dΔ)/B, ADDED into the buffers. Unlike DPO the loss
/// is minimal (0) at the finite margin Δ = 1/(2β): pushing the margin past it is penalised.
/// </summary>
public static class IpoLoss
{
    public static PreferenceLossResult Compute(ReadOnlySpan<float> policyChosenMean, ReadOnlySpan<float> policyRejectedMean,
        ReadOnlySpan<float> refChosenMean, ReadOnlySpan<float> refRejectedMean, float beta, Span<float> dPolicyChosen, Span<float> dPolicyRejected)
    {
        PreferencePairs.CheckBeta(beta, "IPO");
        int n = PreferencePairs.Check("IPO", policyChosenMean, policyRejectedMean, refChosenMean, refRejectedMean, dPolicyChosen, dPolicyRejected, needsReference: true);
        float target = 1f / (2f * beta);
        double total = 0;
        for (int i = 0; i < n; i++)
        {
            float u = (policyChosenMean[i] - refChosenMean[i]) - (policyRejectedMean[i] - refRejectedMean[i]) - target;
            total += (double)u * u;
            float dDelta = 2f * u;
            dPolicyChosen[i] += dDelta / n;
            dPolicyRejected[i] -= dDelta / n;
        }
        return new((float)(total / n), PreferenceMetrics.From(beta, policyChosenMean, policyRejectedMean, refChosenMean, refRejectedMean));
    }
}
