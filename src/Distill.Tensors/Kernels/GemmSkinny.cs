using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Distill.Tensors.Threading;

namespace Distill.Tensors.Kernels;

/// <summary>
/// Products with a narrow output: LoRA's rank-r projections, which the packed GEMM serves badly (its register
/// tiles are mostly padding over r = 8 columns, and packing copies the whole long operand for a few flops each).
///
/// Reductions, C = α·AᵀB + βC (A stored K×M, B stored K×N), when one side of C is at most <see cref="SkinnyMaxNarrow"/> wide and
/// the reduction is long: LoRA's adapter gradients, dA = dhᵀx (r × in) and dB = s·dyᵀh (out × r), each summed over
/// every token of the batch. The packed GEMM would copy the whole long operand into panels to feed register tiles
/// that are mostly padding over r = 8 columns (measured 6.5 GFLOPS on 384×8×1024); here every k step is an outer
/// product of the narrow operand's row (broadcast) and the wide operand's row (vector loads), so both operands
/// stream once, unpacked. The wide side is split in blocks of 16 columns among the threads; each output's sum runs
/// over k in order whichever thread owns it, so results do not depend on the thread count.
/// </summary>
public static partial class Gemm
{
    internal const int SkinnyMaxNarrow = 16;
    const int SkinnyBlock = 16; // wide-side columns per unit: two Vector256
    const int SkinnyGroup = 4;  // narrow-side columns per pass: 4 × 2 accumulators

    /// <summary>The skinny paths need vector hardware, and stand aside when a test forces a micro-kernel.</summary>
    static bool SkinnyAllowed => Vector256.IsHardwareAccelerated && GemmIsaSelect.Override is null;

    /// <summary>Whether the skinny reduction takes this call: AᵀB, a narrow side of C, a reduction at least 16× longer.</summary>
    static bool SkinnyApplies(in Problem p)
        => p.TransA && !p.TransB && Math.Min(p.M, p.N) <= SkinnyMaxNarrow && p.K >= 16 * Math.Min(p.M, p.N) && p.K >= 128 && SkinnyAllowed;

    static unsafe void Skinny(in Problem p, bool parallel)
    {
        // narrow = the operand whose columns are C's short side; wide = the other.
        bool narrowIsB = p.N <= p.M;
        int wide = narrowIsB ? p.M : p.N;
        int units = (wide + SkinnyBlock - 1) / SkinnyBlock;
        var body = new SkinnyBody(p, narrowIsB);
        if (parallel && (long)p.M * p.N * p.K >= ParallelMinFlops) Workers.For(units, body, minChunk: 1);
        else body.Run(0, units);
    }

    readonly unsafe struct SkinnyBody(Problem p, bool narrowIsB) : IRangeBody
    {
        public void Run(int begin, int end)
        {
            int wide = narrowIsB ? p.M : p.N, narrow = narrowIsB ? p.N : p.M;
            float* w = narrowIsB ? p.A : p.B, n = narrowIsB ? p.B : p.A;
            long ldw = narrowIsB ? p.Lda : p.Ldb, ldn = narrowIsB ? p.Ldb : p.Lda;
            float* acc = stackalloc float[SkinnyGroup * SkinnyBlock];
            for (int unit = begin; unit < end; unit++)
            {
                int v0 = unit * SkinnyBlock, width = Math.Min(SkinnyBlock, wide - v0);
                for (int u0 = 0; u0 < narrow; u0 += SkinnyGroup)
                {
                    int group = Math.Min(SkinnyGroup, narrow - u0);
                    if (width == SkinnyBlock) OuterSums(p.K, n + u0, ldn, group, w + v0, ldw, acc);
                    else OuterSumsScalar(p.K, n + u0, ldn, group, w + v0, ldw, width, acc);
                    Store(acc, u0, group, v0, width);
                }
            }
        }

        /// <summary>C ← α·acc + β·C for acc[g·16 + c] = Σ_q narrow[q, u0 + g] · wide[q, v0 + c].</summary>
        void Store(float* acc, int u0, int group, int v0, int width)
        {
            for (int g = 0; g < group; g++)
                for (int c = 0; c < width; c++)
                {
                    // C[i, j]: i on the M side, j on the N side.
                    long at = narrowIsB ? (long)(v0 + c) * p.Ldc + u0 + g : (long)(u0 + g) * p.Ldc + v0 + c;
                    p.C[at] = Update(acc[g * SkinnyBlock + c], p.Alpha, p.Beta, p.C[at]);
                }
        }
    }

    /// <summary>acc[g·16 + c] = Σ_q n[q·ldn + g] · w[q·ldw + c] for g &lt; group (≤ 4), c &lt; 16: per q, 2 loads, ≤ 4 broadcasts, ≤ 8 FMAs.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static unsafe void OuterSums(int k, float* n, long ldn, int group, float* w, long ldw, float* acc)
    {
        if (group < SkinnyGroup)
        {
            // 1–3 narrow columns left: the same sums, one column at a time.
            for (int g = 0; g < group; g++)
            {
                Vector256<float> s0 = default, s1 = default;
                float* nq = n + g, wq = w;
                for (int q = 0; q < k; q++, nq += ldn, wq += ldw)
                {
                    var b = Vector256.Create(*nq);
                    s0 = Vector256.FusedMultiplyAdd(b, Vector256.Load(wq), s0);
                    s1 = Vector256.FusedMultiplyAdd(b, Vector256.Load(wq + 8), s1);
                }
                s0.Store(acc + g * SkinnyBlock); s1.Store(acc + g * SkinnyBlock + 8);
            }
            return;
        }
        Vector256<float> a00 = default, a01 = default, a10 = default, a11 = default;
        Vector256<float> a20 = default, a21 = default, a30 = default, a31 = default;
        for (int q = 0; q < k; q++, n += ldn, w += ldw)
        {
            var w0 = Vector256.Load(w);
            var w1 = Vector256.Load(w + 8);
            var b0 = Vector256.Create(n[0]);
            a00 = Vector256.FusedMultiplyAdd(b0, w0, a00); a01 = Vector256.FusedMultiplyAdd(b0, w1, a01);
            var b1 = Vector256.Create(n[1]);
            a10 = Vector256.FusedMultiplyAdd(b1, w0, a10); a11 = Vector256.FusedMultiplyAdd(b1, w1, a11);
            var b2 = Vector256.Create(n[2]);
            a20 = Vector256.FusedMultiplyAdd(b2, w0, a20); a21 = Vector256.FusedMultiplyAdd(b2, w1, a21);
            var b3 = Vector256.Create(n[3]);
            a30 = Vector256.FusedMultiplyAdd(b3, w0, a30); a31 = Vector256.FusedMultiplyAdd(b3, w1, a31);
        }
        a00.Store(acc); a01.Store(acc + 8); a10.Store(acc + 16); a11.Store(acc + 24);
        a20.Store(acc + 32); a21.Store(acc + 40); a30.Store(acc + 48); a31.Store(acc + 56);
    }

    /// <summary>The wide side's last block, narrower than 16: the same sums in scalar fused multiply-adds.</summary>
    static unsafe void OuterSumsScalar(int k, float* n, long ldn, int group, float* w, long ldw, int width, float* acc)
    {
        for (int g = 0; g < group; g++)
            for (int c = 0; c < width; c++)
            {
                float s = 0f;
                float* nq = n + g, wq = w + c;
                for (int q = 0; q < k; q++, nq += ldn, wq += ldw) s = MathF.FusedMultiplyAdd(*nq, *wq, s);
                acc[g * SkinnyBlock + c] = s;
            }
    }

    /// <summary>
    /// Dot products, C = α·A·op(B) + βC with A stored M×K and C at most <see cref="SkinnyMaxNarrow"/> columns wide:
    /// the LoRA down-projection h = x Aᵀ (N = r, op(B) = Bᵀ with B stored N×K) and its input gradient dh = dy B
    /// (op(B) = B stored K×N, first transposed to N×K, r·K floats). Each C[i, j] is a dot product of row i of A and
    /// row j of the N×K operand, which stays in L1 while A streams through once. Threads split the rows of C.
    /// </summary>
    static bool DotsApplies(in Problem p)
        => !p.TransA && p.N <= SkinnyMaxNarrow && p.M >= 2 * SkinnyRows && p.K >= 64 && SkinnyAllowed;

    const int SkinnyRows = 16; // rows of C per unit of work

    static void Dots(in Problem p, bool parallel)
    {
        // the same product with op(B) = Bᵀ, B stored N×K
        ByRows(p, new DotsBody(p.TransB ? p : WithBStoredTheOtherWay(p)), parallel);
    }

    /// <summary>
    /// The same product with B stored the other way (K×N ↔ N×K, TransB flipped): B transposed once into the caller's pack
    /// buffer, which the workers read. op(B) is a few rows of r ≤ 16 in the skinny paths, so this costs r·N moves.
    /// </summary>
    static unsafe Problem WithBStoredTheOtherWay(in Problem p)
    {
        var q = p;
        float* t = PackBuffers.B(p.N * p.K);
        if (p.TransB)
            for (int j = 0; j < p.N; j++)
                for (int k = 0; k < p.K; k++) t[(long)k * p.N + j] = p.B[(long)j * p.Ldb + k];
        else
            for (int k = 0; k < p.K; k++)
                for (int j = 0; j < p.N; j++) t[(long)j * p.K + k] = p.B[(long)k * p.Ldb + j];
        q.TransB = !p.TransB; q.B = t; q.Ldb = p.TransB ? p.N : p.K;
        return q;
    }

    /// <summary>Runs a body over C's rows in units of <see cref="SkinnyRows"/>, on the workers when the call is large enough.</summary>
    static void ByRows<T>(in Problem p, T body, bool parallel) where T : struct, IRangeBody
    {
        int units = (p.M + SkinnyRows - 1) / SkinnyRows;
        if (parallel && (long)p.M * p.N * p.K >= ParallelMinFlops) Workers.For(units, body, minChunk: 1);
        else body.Run(0, units);
    }

    /// <summary>Each row of C is one m = 1 product against the N×K rows: the GEMV's row kernel (GemmGemv.cs, GemvRows).</summary>
    readonly unsafe struct DotsBody(Problem p) : IRangeBody
    {
        public void Run(int begin, int end)
        {
            var row = p;
            int rowEnd = Math.Min(p.M, end * SkinnyRows);
            for (int i = begin * SkinnyRows; i < rowEnd; i++)
            {
                row.C = p.C + (long)i * p.Ldc;
                GemvRows(row, p.A + (long)i * p.Lda, 0, p.N);
            }
        }
    }
}
