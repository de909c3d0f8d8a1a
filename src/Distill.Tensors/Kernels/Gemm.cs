namespace Distill.Tensors.Kernels;

/// <summary>
/// Single-precision GEMM, row-major: C = alpha · op(A) · op(B) + beta · C.
/// op(A) is A (stored M×K, row stride lda) or Aᵀ (A stored K×M); op(B) is B (stored K×N, ldb) or
/// Bᵀ (B stored N×K — the layout of y = x Wᵀ with W stored [out, in] as PyTorch keeps it).
/// beta = 0 overwrites C without reading it (so C may hold garbage, NaN included), as BLAS does.
///
/// Entry points
///   Sgemm         — the general call. Paths, chosen by shape:
///                     m == 1            → GEMV (GemmGemv.cs): no packing, decode-time matrix-vector;
///                     a side of C ≤ 16  → skinny paths (GemmSkinny.cs), LoRA's rank-r products: AᵀB reductions
///                                         (dA, dB) as streamed outer products, A·op(B) as dot products (x Aᵀ, dy B);
///                     otherwise         → packed, cache-blocked GotoBLAS/BLIS loop nest (GemmPacked.cs)
///                                         around a register-blocked FMA micro-kernel (AVX-512 12×32,
///                                         AVX2 6×16 or portable: GemmKernels.cs, GemmIsa.cs), split
///                                         across Workers by C rows or columns (GemmSchedule.cs);
///                     DISTILL_BLAS=on   → cblas_sgemm from a system OpenBLAS (NativeBlas.cs), if it loads.
///   SgemmManaged  — the managed paths only, whatever DISTILL_BLAS says (benchmarks, tests, determinism).
///   SgemmBatched  — a strided batch of equal-shape GEMMs (attention: per-head Q·Kᵀ, P·V), split across
///                   Workers by batch item when the batch is at least the thread count.
///   SgemmNaive    — scalar reference with double accumulation, the oracle of the tests.
///
/// Determinism: the managed paths never split K, and every C element sees the same sequence of
/// floating-point operations whatever the thread count (splits fall on micro-tile boundaries), so
/// results are bit-identical for 1 and N threads. The native BLAS path makes no such promise.
/// </summary>
public static partial class Gemm
{
    /// <param name="packedB">optional: op(B) packed once (<see cref="GemmPackedB"/>, a frozen weight's panels), read in
    /// place of packing b where the packed path runs with the ISA and K blocks it was packed for; b stays the operand
    /// of every other path. The result is the same either way.</param>
    public static void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc, GemmPackedB? packedB = null)
    {
        Validate(transA, transB, m, n, k, a, lda, b, ldb, c, ldc);
        if (m == 0 || n == 0) return;
        if (k == 0 || alpha == 0f) { ScaleC(m, n, beta, c, ldc); return; }
        if (NativeBlas.ShouldUse(m, n, k))
        {
            GemmWork.Add(m, n, k);
            NativeBlas.Sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
            return;
        }
        SgemmManaged(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, parallel: true, packedB);
    }


    /// <summary>The managed paths only (never the native BLAS); parallel = false keeps it on this thread.</summary>
    public static unsafe void SgemmManaged(bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc, bool parallel = true,
        GemmPackedB? packedB = null)
    {
        Validate(transA, transB, m, n, k, a, lda, b, ldb, c, ldc);
        if (packedB is not null && (packedB.K != k || packedB.N != n))
            throw new ArgumentException($"Sgemm: the packed B is {packedB.K}×{packedB.N}, the call's op(B) {k}×{n}");
        if (m == 0 || n == 0) return;
        if (k == 0 || alpha == 0f) { ScaleC(m, n, beta, c, ldc); return; }
        GemmWork.Add(m, n, k);
        fixed (float* pa = a, pb = b, pc = c)
            Dispatch(new Problem(transA, transB, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc) { PackedB = packedB }, parallel);
    }

    /// <summary>A product (K ≥ 1, α ≠ 0) to the path that serves its shape: GEMV, the skinny LoRA paths, or the packed GEMM.</summary>
    static void Dispatch(in Problem p, bool parallel)
    {
        if (p.M == 1) Gemv(p, parallel);
        else if (SkinnyApplies(p)) Skinny(p, parallel);
        else if (DotsApplies(p)) Dots(p, parallel);
        else if (RankUpdateApplies(p)) RankUpdate(p, parallel);
        else Packed(p, parallel);
    }

    /// <summary>
    /// batch independent GEMMs: C_i = alpha · op(A_i) · op(B_i) + beta · C_i, where A_i starts at
    /// i·strideA in a (likewise B, C). Always managed, so bit-identical for any thread count.
    /// </summary>
    public static unsafe void SgemmBatched(bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, long strideA, ReadOnlySpan<float> b, int ldb, long strideB,
        float beta, Span<float> c, int ldc, long strideC, int batch)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(batch);
        if (batch == 0 || m == 0 || n == 0) return;
        // Each item must fit; checking the last one (strides are non-negative) checks them all.
        ArgumentOutOfRangeException.ThrowIfNegative(strideA);
        ArgumentOutOfRangeException.ThrowIfNegative(strideB);
        ArgumentOutOfRangeException.ThrowIfLessThan(strideC, (long)(m - 1) * ldc + n, nameof(strideC)); // C items must not overlap
        long last = batch - 1;
        if (last * strideA > a.Length || last * strideB > b.Length || last * strideC > c.Length)
            throw new ArgumentException($"SgemmBatched: batch {batch} with strides ({strideA}, {strideB}, {strideC}) overruns a ({a.Length}), b ({b.Length}) or c ({c.Length})");
        Validate(transA, transB, m, n, k, a[(int)(last * strideA)..], lda, b[(int)(last * strideB)..], ldb, c[(int)(last * strideC)..], ldc);
        GemmWork.Add(m, n, k, batch);
        fixed (float* pa = a, pb = b, pc = c)
        {
            var body = new BatchBody(new Problem(transA, transB, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc), strideA, strideB, strideC);
            if (batch >= Threading.Workers.Count) Threading.Workers.For(batch, body, minChunk: 1);
            else for (int i = 0; i < batch; i++) body.RunOne(i, parallel: true);
        }
    }

    unsafe readonly struct BatchBody(Problem p, long strideA, long strideB, long strideC) : Threading.IRangeBody
    {
        public void Run(int begin, int end)
        {
            for (int i = begin; i < end; i++) RunOne(i, parallel: false);
        }

        public void RunOne(int i, bool parallel)
        {
            var q = p;
            q.A += i * strideA; q.B += i * strideB; q.C += i * strideC;
            if (q.K == 0 || q.Alpha == 0f) { ScaleC(q.M, q.N, q.Beta, new Span<float>(q.C, (q.M - 1) * q.Ldc + q.N), q.Ldc); return; }
            Dispatch(q, parallel);
        }
    }

    /// <summary>Scalar reference with double accumulation: the oracle the fast paths are tested against.</summary>
    public static void SgemmNaive(bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc)
    {
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double s = 0;
                for (int p = 0; p < k; p++)
                {
                    float av = transA ? a[p * lda + i] : a[i * lda + p];
                    float bv = transB ? b[j * ldb + p] : b[p * ldb + j];
                    s += (double)av * bv;
                }
                float prev = beta == 0f ? 0f : beta * c[i * ldc + j];
                c[i * ldc + j] = (float)(alpha * s) + prev;
            }
    }

    /// <summary>C = beta · C (beta = 0 writes zeros without reading, so NaN garbage is cleared).</summary>
    static void ScaleC(int m, int n, float beta, Span<float> c, int ldc)
    {
        if (beta == 1f) return;
        for (int i = 0; i < m; i++)
        {
            var row = c.Slice(i * ldc, n);
            if (beta == 0f) row.Clear();
            else System.Numerics.Tensors.TensorPrimitives.Multiply(row, beta, row);
        }
    }

    /// <summary>Checks dimensions, leading dimensions and span lengths once, so the kernels can use raw pointers.</summary>
    internal static void Validate(bool transA, bool transB, int m, int n, int k,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, Span<float> c, int ldc)
    {
        if (m < 0 || n < 0 || k < 0) throw new ArgumentOutOfRangeException(nameof(m), $"Sgemm: negative size m={m} n={n} k={k}");
        CheckOperand("A", transA ? k : m, transA ? m : k, a.Length, lda);
        CheckOperand("B", transB ? n : k, transB ? k : n, b.Length, ldb);
        CheckOperand("C", m, n, c.Length, ldc);
    }

    static void CheckOperand(string name, int rows, int cols, int length, int ld)
    {
        if (ld < Math.Max(1, cols))
            throw new ArgumentOutOfRangeException("ld" + name.ToLowerInvariant(), $"Sgemm: ld{name.ToLowerInvariant()}={ld} is less than the {cols} columns of stored {name} ({rows}×{cols})");
        if (rows == 0 || cols == 0) return;
        long need = (long)(rows - 1) * ld + cols;
        if (length < need)
            throw new ArgumentException($"Sgemm: {name} ({rows}×{cols}, ld {ld}) needs {need} floats but its span holds {length}");
    }
}
