using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Distill.Tensors.Threading;

namespace Distill.Tensors.Kernels;

/// <summary>
/// Products with a short reduction, C = α·A·op(B) + βC with K ≤ <see cref="SkinnyMaxNarrow"/>: LoRA's up-projection
/// y += s·h Bᵀ (h: tokens × r, B: out × r) and its input gradient dx += dh A (A: r × in), r = 8 over every token of the
/// batch. The packed GEMM spends such a call on packing and on reading and writing C in 12 × 32 tiles for 8 FMAs each
/// (measured 176 µs for 512 × 576 × 8 on two threads, more than a third of the 576 × 576 base product it follows); here
/// each row of C streams once: op(B) (K × N, at most 16 × N floats, transposed once when stored N × K) stays in L1, and per
/// 16 columns a row of A's K values is broadcast into K fused multiply-adds. Each element is the FMA chain over k in order
/// from zero, then α·acc (+ β·C) — the micro-kernel's arithmetic, so the same bits as the packed path (GemmRankUpdateTests).
/// Threads split the rows.
/// </summary>
public static partial class Gemm
{
    /// <summary>Whether the rank update takes this call: A·op(B) with a reduction of at most 16, enough rows and columns, AVX-512.</summary>
    static bool RankUpdateApplies(in Problem p)
        => !p.TransA && p.K <= SkinnyMaxNarrow && p.M >= 2 * SkinnyRows && p.N >= 64 && SkinnyAllowed && Avx512F.IsSupported;

    // op(B) as stored K×N (B stored N×K is transposed once: r·N floats)
    static void RankUpdate(in Problem p, bool parallel) => ByRows(p, new RankUpdateBody(p.TransB ? WithBStoredTheOtherWay(p) : p), parallel);

    readonly unsafe struct RankUpdateBody(Problem p) : IRangeBody
    {
        public void Run(int begin, int end)
        {
            int rowEnd = Math.Min(p.M, end * SkinnyRows), k = p.K, n = p.N;
            var va = Vector512.Create(p.Alpha);
            var vb = Vector512.Create(p.Beta);
            for (int i = begin * SkinnyRows; i < rowEnd; i++)
            {
                float* a = p.A + (long)i * p.Lda, c = p.C + (long)i * p.Ldc;
                int j = 0;
                // four column blocks at a time: four independent FMA chains over k
                for (; j + 64 <= n; j += 64)
                {
                    Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default;
                    float* b = p.B + j;
                    for (int q = 0; q < k; q++, b += p.Ldb)
                    {
                        var aq = Vector512.Create(a[q]);
                        c0 = Avx512F.FusedMultiplyAdd(aq, Avx512F.LoadVector512(b), c0);
                        c1 = Avx512F.FusedMultiplyAdd(aq, Avx512F.LoadVector512(b + 16), c1);
                        c2 = Avx512F.FusedMultiplyAdd(aq, Avx512F.LoadVector512(b + 32), c2);
                        c3 = Avx512F.FusedMultiplyAdd(aq, Avx512F.LoadVector512(b + 48), c3);
                    }
                    Store(c + j, c0, va, vb);
                    Store(c + j + 16, c1, va, vb);
                    Store(c + j + 32, c2, va, vb);
                    Store(c + j + 48, c3, va, vb);
                }
                for (; j + 16 <= n; j += 16)
                {
                    Vector512<float> c0 = default;
                    float* b = p.B + j;
                    for (int q = 0; q < k; q++, b += p.Ldb) c0 = Avx512F.FusedMultiplyAdd(Vector512.Create(a[q]), Avx512F.LoadVector512(b), c0);
                    Store(c + j, c0, va, vb);
                }
                for (; j < n; j++)
                {
                    float acc = 0f;
                    for (int q = 0; q < k; q++) acc = MathF.FusedMultiplyAdd(a[q], p.B[(long)q * p.Ldb + j], acc);
                    c[j] = Update(acc, p.Alpha, p.Beta, c[j]);
                }
            }
        }

        /// <summary>c ← α·acc, or α·acc + β·c in one rounding (StoreRow512's arithmetic).</summary>
        void Store(float* c, Vector512<float> acc, Vector512<float> va, Vector512<float> vb)
        {
            if (p.Beta == 0f) Avx512F.Store(c, va * acc);
            else Avx512F.Store(c, Avx512F.FusedMultiplyAdd(va, acc, vb * Avx512F.LoadVector512(c)));
        }
    }
}
