using System.Numerics.Tensors;
using Distill.Tensors.Threading;

namespace Distill.Tensors.Kernels;

/// <summary>
/// The training/prefill form of <see cref="AttentionKernels"/> (Tq = Tk, Pos0 = 0, P saved): per
/// (batch, head) the scores S = q kᵀ·scale and the products P v, dP = dO vᵀ, dq = dS k, dk = dSᵀ q,
/// dv = Pᵀ dO go through GEMM, which is ~8× faster than the row kernel's dot products even though
/// it also computes the masked upper triangle (measured on bench-small, one core: 27 → 6 ms forward
/// per layer). The row kernel stays as the reference and the decode path; tests hold them equal.
/// With a sliding window W &lt; T the queries go in blocks of <see cref="QueryBlock"/> rows and each block
/// multiplies only its live key range [i0 − W + 1, i1): the fully masked blocks left of the band are never
/// computed, so the cost grows as T·W instead of T². P keeps its (T, T) layout, zero outside the band.
/// </summary>
public static unsafe class AttentionGemmKernels
{
    /// <summary>Query rows per block: the whole sequence without a window (one GEMM, as before), else about the window.</summary>
    public static int QueryBlock(int T, int window) => window <= 0 || window >= T ? T : Math.Min(T, Math.Max(16, window));

    /// <summary>Live keys of query block [i0, i1): [lo, i1) with lo = first key of row i0 (rows are causal, so i1 bounds them).</summary>
    static int BlockFirstKey(int i0, int window) => window > 0 ? Math.Max(0, i0 - window + 1) : 0;

    public static void Forward(in AttentionLayout l)
    {
        Check(l);
        int T = l.Tq, hd = l.HeadDim, group = l.Heads / l.KvHeads, outLd = l.Heads * hd, qb = QueryBlock(T, l.Window);
        long rows = (long)l.Batch * l.Heads * T;
        for (int b = 0; b < l.Batch; b++)
            for (int h = 0; h < l.Heads; h++)
            {
                int g = h / group;
                float* q = l.Q + (long)b * T * l.Ldq + l.QOff + h * hd;
                float* k = l.K + (long)b * T * l.Ldk + l.KOff + g * hd;
                float* p = l.P + ((long)b * l.Heads + h) * T * T;
                for (int i0 = 0; i0 < T; i0 += qb)
                {
                    int i1 = Math.Min(T, i0 + qb), lo = BlockFirstKey(i0, l.Window), m = i1 - i0, nk = i1 - lo;
                    // S[i0:i1, lo:i1] = scale · q[i0:i1] (m×hd) · k[lo:i1]ᵀ (hd×nk); P's row stride stays T
                    Gemm.Sgemm(false, true, m, nk, hd, l.Scale, Span(q + (long)i0 * l.Ldq, m, hd, l.Ldq), l.Ldq,
                        Span(k + (long)lo * l.Ldk, nk, hd, l.Ldk), l.Ldk, 0f, SpanW(p + (long)i0 * T + lo, m, nk, T), T);
                }
            }
        Workers.For((int)rows, new SoftmaxBody { L = l }, 64);
        for (int b = 0; b < l.Batch; b++)
            for (int h = 0; h < l.Heads; h++)
            {
                int g = h / group;
                float* v = l.V + (long)b * T * l.Ldv + l.VOff + g * hd;
                float* p = l.P + ((long)b * l.Heads + h) * T * T;
                float* o = l.Out + (long)b * T * outLd + h * hd;
                for (int i0 = 0; i0 < T; i0 += qb)
                {
                    int i1 = Math.Min(T, i0 + qb), lo = BlockFirstKey(i0, l.Window), m = i1 - i0, nk = i1 - lo;
                    // out[i0:i1] (m×hd) = P[i0:i1, lo:i1] (m×nk) · v[lo:i1] (nk×hd); masked entries of P are exactly 0
                    Gemm.Sgemm(false, false, m, hd, nk, 1f, Span(p + (long)i0 * T + lo, m, nk, T), T,
                        Span(v + (long)lo * l.Ldv, nk, hd, l.Ldv), l.Ldv, 0f, SpanW(o + (long)i0 * outLd, m, hd, outLd), outLd);
                }
            }
    }

    /// <summary>Rows of P: causal and window mask (keys outside [lo, i] → 0), optional additive key mask, softmax in place.</summary>
    struct SoftmaxBody : IRangeBody
    {
        public AttentionLayout L;
        public void Run(int begin, int end)
        {
            int T = L.Tq;
            for (int r = begin; r < end; r++)
            {
                int i = r % T, b = r / (T * L.Heads);
                var s = new Span<float>(L.P + (long)r * T, T);
                int n = i + 1, lo = AttentionKernels.FirstKey(L, i);
                var live = s[lo..n];
                if (L.Mask != null) TensorPrimitives.Add(live, new ReadOnlySpan<float>(L.Mask + (long)b * L.KvRowsPerBatch + lo, n - lo), live);
                float max = TensorPrimitives.Max(live);
                s[..lo].Clear();
                s[n..].Clear();
                if (float.IsNegativeInfinity(max)) { live.Clear(); continue; } // every key masked: output 0
                TensorPrimitives.Subtract(live, max, live);
                TensorPrimitives.Exp(live, live);
                TensorPrimitives.Multiply(live, 1f / TensorPrimitives.Sum(live), live);
            }
        }
    }

    /// <summary>Adds into dQ/dK/dV (any may be null). scratch: (T, T) floats for dP/dS of one (batch, head).</summary>
    public static void Backward(in AttentionLayout l, float* dOut, float* dQ, float* dK, float* dV, float* scratch)
    {
        Check(l);
        int T = l.Tq, hd = l.HeadDim, group = l.Heads / l.KvHeads, outLd = l.Heads * hd, qb = QueryBlock(T, l.Window);
        for (int b = 0; b < l.Batch; b++)
            for (int h = 0; h < l.Heads; h++)
            {
                int g = h / group;
                long qo = (long)b * T * l.Ldq + l.QOff + h * hd, ko = (long)b * T * l.Ldk + l.KOff + g * hd, vo = (long)b * T * l.Ldv + l.VOff + g * hd;
                float* p = l.P + ((long)b * l.Heads + h) * T * T;
                float* dO = dOut + (long)b * T * outLd + h * hd;
                for (int i0 = 0; i0 < T; i0 += qb)
                {
                    int i1 = Math.Min(T, i0 + qb), lo = BlockFirstKey(i0, l.Window), m = i1 - i0, nk = i1 - lo;
                    var pBlk = Span(p + (long)i0 * T + lo, m, nk, T);        // P[i0:i1, lo:i1]
                    var dOBlk = Span(dO + (long)i0 * outLd, m, hd, outLd);   // dO[i0:i1]
                    // dv[lo:i1] += P[i0:i1, lo:i1]ᵀ dO[i0:i1]
                    if (dV != null) Gemm.Sgemm(true, false, nk, hd, m, 1f, pBlk, T, dOBlk, outLd, 1f, SpanW(dV + vo + (long)lo * l.Ldv, nk, hd, l.Ldv), l.Ldv);
                    if (dQ == null && dK == null) continue;
                    // dP = dO vᵀ ;  dS = P ⊙ (dP − Σ_j P dP) · scale, on the block's rows and live keys
                    var dsBlk = SpanW(scratch + (long)i0 * T + lo, m, nk, T);
                    Gemm.Sgemm(false, true, m, nk, hd, 1f, dOBlk, outLd, Span(l.V + vo + (long)lo * l.Ldv, nk, hd, l.Ldv), l.Ldv, 0f, dsBlk, T);
                    for (int i = i0; i < i1; i++)
                    {
                        int a = AttentionKernels.FirstKey(l, i), n = i + 1;
                        var pr = new ReadOnlySpan<float>(p + (long)i * T + a, n - a);
                        var dr = new Span<float>(scratch + (long)i * T, T);
                        var live = dr[a..n];
                        float dot = TensorPrimitives.Dot(pr, live);
                        TensorPrimitives.Subtract(live, dot, live);
                        TensorPrimitives.Multiply(live, pr, live);
                        TensorPrimitives.Multiply(live, l.Scale, live);
                        dr[lo..a].Clear();
                        dr[n..i1].Clear();
                    }
                    // dq[i0:i1] += dS k[lo:i1] ;  dk[lo:i1] += dSᵀ q[i0:i1]
                    var dsRead = Span(scratch + (long)i0 * T + lo, m, nk, T);
                    if (dQ != null) Gemm.Sgemm(false, false, m, hd, nk, 1f, dsRead, T, Span(l.K + ko + (long)lo * l.Ldk, nk, hd, l.Ldk), l.Ldk, 1f, SpanW(dQ + qo + (long)i0 * l.Ldq, m, hd, l.Ldq), l.Ldq);
                    if (dK != null) Gemm.Sgemm(true, false, nk, hd, m, 1f, dsRead, T, Span(l.Q + qo + (long)i0 * l.Ldq, m, hd, l.Ldq), l.Ldq, 1f, SpanW(dK + ko + (long)lo * l.Ldk, nk, hd, l.Ldk), l.Ldk);
                }
            }
    }

    // A (rows × cols) block with row stride ld, as the span GEMM expects: (rows−1)·ld + cols elements.
    static ReadOnlySpan<float> Span(float* p, int rows, int cols, int ld) => new(p, (rows - 1) * ld + cols);
    static Span<float> SpanW(float* p, int rows, int cols, int ld) => new(p, (rows - 1) * ld + cols);

    static void Check(in AttentionLayout l)
    {
        if (l.P == null || l.Tq != l.Tk || l.Pos0 != 0 || l.KvRowsPerBatch != l.Tq || l.Heads % l.KvHeads != 0 || l.Window < 0)
            throw new ArgumentException("AttentionGemmKernels: needs saved P, Tq = Tk = rows per batch, Pos0 = 0, kv heads dividing heads, window ≥ 0");
    }
}
