using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Distill.Tensors.Kernels.Losses;

/// <summary>Per-kind constants, broadcast once per call: w is β (JSD) or α (skew KLs).</summary>
internal readonly struct TermCoefs(float w)
{
    public readonly Vector256<float> W = Vector256.Create(w), W1m = Vector256.Create(1f - w);
    public readonly Vector256<float> LogW = Vector256.Create(MathF.Log(w)), LogW1m = Vector256.Create(MathF.Log(1f - w));
}

/// <summary>
/// One divergence, element-wise, on 8 lanes. Inputs: log p, log q (teacher, student; already
/// temperature-scaled and normalised) and p = exp(log p), q = exp(log q). Outputs: the element's
/// share of the row loss L, and h = q·∂L/∂q, from which the gradient w.r.t. the student's scaled
/// logits s is ∂L/∂s_j = h_j − q_j·Σ_k h_k (the softmax Jacobian), so the backward needs one pass.
/// Mixtures are formed in the log domain (LogAddExp), so no log(0) can occur for finite logits.
/// </summary>
internal interface IDivergenceTerm
{
    static abstract void Term(Vector256<float> lp, Vector256<float> lq, Vector256<float> p, Vector256<float> q, in TermCoefs k,
        out Vector256<float> loss, out Vector256<float> h);
}

// KL(p‖q) = Σ p(log p − log q);  ∂L/∂q = −p/q  →  h = −p
internal struct ForwardKlTerm : IDivergenceTerm
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Term(Vector256<float> lp, Vector256<float> lq, Vector256<float> p, Vector256<float> q, in TermCoefs k, out Vector256<float> loss, out Vector256<float> h)
    {
        loss = p * (lp - lq);
        h = -p;
    }
}

// KL(q‖p) = Σ q(log q − log p);  ∂L/∂q = log q − log p + 1  →  h = q(log q − log p + 1)
internal struct ReverseKlTerm : IDivergenceTerm
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Term(Vector256<float> lp, Vector256<float> lq, Vector256<float> p, Vector256<float> q, in TermCoefs k, out Vector256<float> loss, out Vector256<float> h)
    {
        var d = lq - lp;
        loss = q * d;
        h = q * (d + Vector256<float>.One);
    }
}

// JSD_β: m = βp + (1−β)q; L = β Σ p(log p − log m) + (1−β) Σ q(log q − log m)
// = β Σ p log p + (1−β) Σ q log q − Σ m log m  →  ∂L/∂q = (1−β)(log q − log m)
internal struct JsdTerm : IDivergenceTerm
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Term(Vector256<float> lp, Vector256<float> lq, Vector256<float> p, Vector256<float> q, in TermCoefs k, out Vector256<float> loss, out Vector256<float> h)
    {
        var lm = RowMath.LogAddExp(lp + k.LogW, lq + k.LogW1m);
        var sq = k.W1m * q * (lq - lm);
        loss = k.W * p * (lp - lm) + sq;
        h = sq;
    }
}

// TVD = Σ ½|p − q|;  ∂L/∂q = ½ sign(q − p) (0 where equal: the subgradient TRL/torch's abs uses)
internal struct TvdTerm : IDivergenceTerm
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Term(Vector256<float> lp, Vector256<float> lq, Vector256<float> p, Vector256<float> q, in TermCoefs k, out Vector256<float> loss, out Vector256<float> h)
    {
        var half = Vector256.Create(0.5f);
        loss = half * Vector256.Abs(p - q);
        var sign = (Vector256.GreaterThan(q, p) & Vector256<float>.One) - (Vector256.LessThan(q, p) & Vector256<float>.One);
        h = half * q * sign;
    }
}

// skew forward KL (DistiLLM): L = −Σ p log m, m = αp + (1−α)q  →  ∂L/∂q = −(1−α)p/m;  h = −(1−α) p·exp(log q − log m)
internal struct SkewForwardKlTerm : IDivergenceTerm
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Term(Vector256<float> lp, Vector256<float> lq, Vector256<float> p, Vector256<float> q, in TermCoefs k, out Vector256<float> loss, out Vector256<float> h)
    {
        var lm = RowMath.LogAddExp(lp + k.LogW, lq + k.LogW1m);
        loss = -(p * lm);
        h = -(k.W1m * p * Vector256.Exp(lq - lm));   // q/m ≤ 1/(1−α): bounded
    }
}

// skew reverse KL (DistiLLM): r = (1−α)p + αq; L = Σ q(log q − log r)
// ∂L/∂q = log q + 1 − log r − α q/r  →  h = q(log q + 1 − log r) − α q·exp(log q − log r)
internal struct SkewReverseKlTerm : IDivergenceTerm
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Term(Vector256<float> lp, Vector256<float> lq, Vector256<float> p, Vector256<float> q, in TermCoefs k, out Vector256<float> loss, out Vector256<float> h)
    {
        var lr = RowMath.LogAddExp(lp + k.LogW1m, lq + k.LogW);
        var d = lq - lr;
        loss = q * d;
        h = q * (d + Vector256<float>.One) - k.W * q * Vector256.Exp(d);   // q/r ≤ 1/α: bounded
    }
}
