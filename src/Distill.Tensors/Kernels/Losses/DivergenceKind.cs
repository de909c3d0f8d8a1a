namespace Distill.Tensors.Kernels.Losses;

/// <summary>
/// Token-level divergences between a teacher distribution p and a student distribution q
/// (REFERENCE.md "Token-level distillation"; DistiLLM and TRL GKD conventions).
/// </summary>
public enum DivergenceKind
{
    /// <summary>KL(p‖q) = Σ p (log p − log q). TRL GKDTrainer.generalized_jsd_loss with beta = 0.</summary>
    ForwardKl,
    /// <summary>KL(q‖p) = Σ q (log q − log p). TRL GKDTrainer.generalized_jsd_loss with beta = 1.</summary>
    ReverseKl,
    /// <summary>Generalised JSD_β: m = βp + (1−β)q; β·KL(p‖m) + (1−β)·KL(q‖m). TRL generalized_jsd_loss, 0 &lt; β &lt; 1.</summary>
    Jsd,
    /// <summary>Total variation Σ ½|p − q| (DistiLLM losses.py tv_distance), in [0, 1].</summary>
    Tvd,
    /// <summary>Skew forward KL −Σ p log(αp + (1−α)q) (DistiLLM losses.py skewed_forward_kl, written as a
    /// cross-entropy: it equals H(p), not 0, when q = p; its gradient is then 0).</summary>
    SkewForwardKl,
    /// <summary>Skew reverse KL Σ q (log q − log((1−α)p + αq)) = KL(q ‖ (1−α)p + αq) (DistiLLM losses.py skewed_reverse_kl).</summary>
    SkewReverseKl,
}

/// <summary>
/// Which divergence, at which temperature τ (both logits are divided by τ before the softmax, as
/// TRL's GKD does), with β for <see cref="DivergenceKind.Jsd"/> and the skew α for the skew KLs.
/// </summary>
public readonly record struct DivergenceOptions(DivergenceKind Kind, float Temperature = 1f, float Beta = 0.5f, float Alpha = 0.1f)
{
    public void Validate()
    {
        RowMath.CheckTemperature(Temperature, $"{Kind}");
        // β = 0 and β = 1 make the mixture equal one side (JSD ≡ 0); TRL special-cases them to the forward
        // and reverse KL, which are the separate kinds ForwardKl and ReverseKl here.
        if (Kind == DivergenceKind.Jsd && !(Beta > 0 && Beta < 1))
            throw new ArgumentOutOfRangeException(nameof(Beta), $"Jsd: beta must be in (0, 1), got {Beta}; use ForwardKl (TRL beta = 0) or ReverseKl (TRL beta = 1)");
        if (Kind is DivergenceKind.SkewForwardKl or DivergenceKind.SkewReverseKl && !(Alpha > 0 && Alpha < 1))
            throw new ArgumentOutOfRangeException(nameof(Alpha), $"{Kind}: alpha must be in (0, 1), got {Alpha}");
    }
}
