using static Distill.Tensors.Kernels.Losses.PreferenceScalarKernels;

namespace Distill.Training.Losses;

/// <summary>Which sigmoid DPO: TRL's loss_type "sigmoid" (cDPO label smoothing) or "robust" (rDPO).</summary>
public enum DpoVariant
{
    /// <summary>−(1−ε) log σ(βΔ) − ε log σ(−βΔ) (TRL DPOTrainer.dpo_loss, loss_type="sigmoid"; ε = 0 is plain DPO).</summary>
    Sigmoid,
    /// <summary>[−(1−ε) log σ(βΔ) + ε log σ(−βΔ)] / (1 − 2ε) (REFERENCE.md's "label smoothing"; TRL loss_type="robust").</summary>
    Robust,
}

/// <summary>β (default 0.1, TRL's) and the label smoothing ε ∈ [0, 0.5) (the assumed rate of flipped preference labels).</summary>
public sealed record DpoOptions(float Beta = 0.1f, float LabelSmoothing = 0f, DpoVariant Variant = DpoVariant.Sigmoid)
{
    public void Validate()
    {
        PreferencePairs.CheckBeta(Beta, "DPO");
        if (!(LabelSmoothing >= 0 && LabelSmoothing < 0.5f))
            throw new ArgumentOutOfRangeException(nameof(LabelSmoothing), $"DPO: label smoothing must be in [0, 0.5), got {LabelSmoothing}");
    }
}

/// <summary>
/// DPO (Rafailov et al. 2023, Eq. 7), as TRL's DPOTrainer.dpo_loss computes it.
/// Inputs per pair (B): summed completion log-probs of policy and reference on chosen and rejected.
/// Δ = (πc − rc) − (πr − rr)
/// sigmoid: L = −(1−ε) log σ(βΔ) − ε log σ(−βΔ);    dL/dΔ = −(1−ε)β σ(−βΔ) + εβ σ(βΔ)
/// robust:  L = [−(1−ε) log σ(βΔ) + ε log σ(−βΔ)]/(1−2ε);  dL/dΔ = −β[(1−ε) σ(−βΔ) + ε σ(βΔ)]/(1−2ε)
/// The batch loss is the mean over pairs; dL/dπc = (dL/dΔ)/B, dL/dπr = −(dL/dΔ)/B, ADDED into the buffers.
/// With policy = reference, Δ = 0 and L = ln 2 for every ε.
/// </summary>
public static class DpoLoss
{
    public static PreferenceLossResult Compute(ReadOnlySpan<float> policyChosen, ReadOnlySpan<float> policyRejected,
        ReadOnlySpan<float> refChosen, ReadOnlySpan<float> refRejected, DpoOptions o, Span<float> dPolicyChosen, Span<float> dPolicyRejected)
    {
        o.Validate();
        int n = PreferencePairs.Check("DPO", policyChosen, policyRejected, refChosen, refRejected, dPolicyChosen, dPolicyRejected, needsReference: true);
        float b = o.Beta, e = o.LabelSmoothing;
        double total = 0;
        for (int i = 0; i < n; i++)
        {
            float z = b * ((policyChosen[i] - refChosen[i]) - (policyRejected[i] - refRejected[i]));   // βΔ
            float loss, dDelta;
            if (o.Variant == DpoVariant.Sigmoid)
            {
                loss = -(1 - e) * LogSigmoid(z) - e * LogSigmoid(-z);
                dDelta = -(1 - e) * b * Sigmoid(-z) + e * b * Sigmoid(z);
            }
            else
            {
                loss = (-(1 - e) * LogSigmoid(z) + e * LogSigmoid(-z)) / (1 - 2 * e);
                dDelta = -b * ((1 - e) * Sigmoid(-z) + e * Sigmoid(z)) / (1 - 2 * e);
            }
            total += loss;
            dPolicyChosen[i] += dDelta / n;
            dPolicyRejected[i] -= dDelta / n;
        }
        return new((float)(total / n), PreferenceMetrics.From(b, policyChosen, policyRejected, refChosen, refRejected));
    }
}
