using System.Numerics.Tensors;
using Distill.Tensors.Threading;

namespace Distill.Tensors.Kernels;

/// <summary>
/// The training/prefill form of <see cref="AttentionKernels"/> (Tq = Tk, Pos0 = 0, P saved): per
/// (batch, head) the scores S = q kᵀ·scale and the products P v, dP = dO vᵀ, dq = dS k, dk = dSᵀ q,
/// dv = Pᵀ dO go through GEMM, which is ~8× faster than the row kernel's dot products even though
/// it also computes the masked upper triangle (measured on bench-small, one core: 27 → 6 ms forward
/// per layer). The row kernel stays as the reference and the decode path; tests hold them equal.
/// Each (batch, head) runs its GEMMs single-threaded, the items split across Workers: one fork/join per
/// pass instead of two per tiny GEMM. Always the managed GEMM (bit-identical for any thread count).
/// </summary>
public static unsafe class AttentionGemmKernels
{
    public static void Forward(in AttentionLayout l)
    {
        Check(l);
        // One item per (batch, head), each GEMM on its own thread: a 128×128×64 GEMM is ~20 µs on one
        // core, too small to split across cores without paying fork/join twice per call.
        Workers.For(l.Batch * l.Heads, new ForwardBody { L = l }, 1);
    }

    struct ForwardBody : IRangeBody
    {
        public AttentionLayout L;
        public void Run(int begin, int end)
        {
            var l = L;
            int T = l.Tq, hd = l.HeadDim, group = l.Heads / l.KvHeads, outLd = l.Heads * hd;
            for (int item = begin; item < end; item++)
            {
                int b = item / l.Heads, h = item % l.Heads, g = h / group;
                float* q = l.Q + (long)b * T * l.Ldq + l.QOff + h * hd;
                float* k = l.K + (long)b * T * l.Ldk + l.KOff + g * hd;
                float* v = l.V + (long)b * T * l.Ldv + l.VOff + g * hd;
                float* p = l.P + (long)item * T * T;
                float* o = l.Out + (long)b * T * outLd + h * hd;
                // S (T×T) = scale · q (T×hd) · kᵀ
                Gemm.SgemmManaged(false, true, T, T, hd, l.Scale, Span(q, T, hd, l.Ldq), l.Ldq, Span(k, T, hd, l.Ldk), l.Ldk, 0f, new Span<float>(p, T * T), T, parallel: false);
                new SoftmaxBody { L = l }.Run(item * T, (item + 1) * T);
                // out (T×hd) = P (T×T) · v (T×hd); masked entries of P are exactly 0
                Gemm.SgemmManaged(false, false, T, hd, T, 1f, new ReadOnlySpan<float>(p, T * T), T, Span(v, T, hd, l.Ldv), l.Ldv, 0f, SpanW(o, T, hd, outLd), outLd, parallel: false);
            }
        }
    }

    /// <summary>Rows of P: causal mask (j &gt; i → 0), optional additive key mask, softmax in place.</summary>
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
                int n = i + 1;
                var live = s[..n];
                if (L.Mask != null) TensorPrimitives.Add(live, new ReadOnlySpan<float>(L.Mask + (long)b * L.KvRowsPerBatch, n), live);
                float max = TensorPrimitives.Max(live);
                s[n..].Clear();
                if (float.IsNegativeInfinity(max)) { live.Clear(); continue; } // every key masked: output 0
                TensorPrimitives.Subtract(live, max, live);
                TensorPrimitives.Exp(live, live);
                TensorPrimitives.Multiply(live, 1f / TensorPrimitives.Sum(live), live);
            }
        }
    }

    /// <summary>
    /// Adds into dQ/dK/dV (any may be null). scratch: (T, T) floats for dP/dS of one (batch, head).
    /// Split over (batch, kv head): the heads of one group add into the same dK/dV rows, so they run
    /// in order on one thread (and the sums do not depend on the thread count).
    /// </summary>
    public static void Backward(in AttentionLayout l, float* dOut, float* dQ, float* dK, float* dV, float* scratch)
    {
        Check(l);
        Workers.For(l.Batch * l.KvHeads, new BackwardBody { L = l, DOut = dOut, DQ = dQ, DK = dK, DV = dV, Scratch = scratch }, 1);
    }

    struct BackwardBody : IRangeBody
    {
        public AttentionLayout L;
        public float* DOut, DQ, DK, DV, Scratch;

        public void Run(int begin, int end)
        {
            var l = L;
            int T = l.Tq, hd = l.HeadDim, group = l.Heads / l.KvHeads, outLd = l.Heads * hd;
            // The chunk that starts at 0 is the only one to use the caller's scratch; others take their thread's.
            var ds = begin == 0 ? new Span<float>(Scratch, T * T) : ThreadScratch(T * T);
            for (int item = begin; item < end; item++)
            {
                int b = item / l.KvHeads, g = item % l.KvHeads;
                for (int h = g * group; h < (g + 1) * group; h++)
                {
                    long qo = (long)b * T * l.Ldq + l.QOff + h * hd, ko = (long)b * T * l.Ldk + l.KOff + g * hd, vo = (long)b * T * l.Ldv + l.VOff + g * hd;
                    var p = new ReadOnlySpan<float>(l.P + ((long)b * l.Heads + h) * T * T, T * T);
                    var dO = Span(DOut + (long)b * T * outLd + h * hd, T, hd, outLd);
                    // dv += Pᵀ dO
                    if (DV != null) Gemm.SgemmManaged(true, false, T, hd, T, 1f, p, T, dO, outLd, 1f, SpanW(DV + vo, T, hd, l.Ldv), l.Ldv, parallel: false);
                    if (DQ == null && DK == null) continue;
                    // dP = dO vᵀ ;  dS = P ⊙ (dP − Σ_j P dP) · scale
                    Gemm.SgemmManaged(false, true, T, T, hd, 1f, dO, outLd, Span(l.V + vo, T, hd, l.Ldv), l.Ldv, 0f, ds, T, parallel: false);
                    for (int i = 0; i < T; i++)
                    {
                        var pr = p.Slice(i * T, i + 1);
                        var dr = ds.Slice(i * T, T);
                        float dot = TensorPrimitives.Dot(pr, dr[..(i + 1)]);
                        TensorPrimitives.Subtract(dr[..(i + 1)], dot, dr[..(i + 1)]);
                        TensorPrimitives.Multiply(dr[..(i + 1)], pr, dr[..(i + 1)]);
                        TensorPrimitives.Multiply(dr[..(i + 1)], l.Scale, dr[..(i + 1)]);
                        dr[(i + 1)..].Clear();
                    }
                    // dq += dS k ;  dk += dSᵀ q
                    if (DQ != null) Gemm.SgemmManaged(false, false, T, hd, T, 1f, ds, T, Span(l.K + ko, T, hd, l.Ldk), l.Ldk, 1f, SpanW(DQ + qo, T, hd, l.Ldq), l.Ldq, parallel: false);
                    if (DK != null) Gemm.SgemmManaged(true, false, T, hd, T, 1f, ds, T, Span(l.Q + qo, T, hd, l.Ldq), l.Ldq, 1f, SpanW(DK + ko, T, hd, l.Ldk), l.Ldk, parallel: false);
                }
            }
        }
    }

    [ThreadStatic] static float[]? _scratch;

    /// <summary>This thread's dP/dS buffer (grown once, then reused: no allocation per step).</summary>
    static Span<float> ThreadScratch(int floats)
    {
        if (_scratch is null || _scratch.Length < floats) _scratch = new float[floats];
        return _scratch.AsSpan(0, floats);
    }

    // A (rows × cols) block with row stride ld, as the span GEMM expects: (rows−1)·ld + cols elements.
    static ReadOnlySpan<float> Span(float* p, int rows, int cols, int ld) => new(p, (rows - 1) * ld + cols);
    static Span<float> SpanW(float* p, int rows, int cols, int ld) => new(p, (rows - 1) * ld + cols);

    static void Check(in AttentionLayout l)
    {
        if (l.P == null || l.Tq != l.Tk || l.Pos0 != 0 || l.KvRowsPerBatch != l.Tq || l.Heads % l.KvHeads != 0)
            throw new ArgumentException("AttentionGemmKernels: needs saved P, Tq = Tk = rows per batch, Pos0 = 0, kv heads dividing heads");
    }
}
