using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Distill.Tensors.Kernels;

/// <summary>
/// The small products of the training attention (<see cref="AttentionGemmKernels"/>) without the general GEMM's packing:
///   C (m × n, ldc) = alpha · Σ_kk A(r, kk) · B[kk·ldb + c]  (+ C when accumulating),   A(r, kk) = a[r·ars + kk·aks].
/// B is read in rows (contiguous over c), A by broadcasts with any strides, so one kernel does all six products of a
/// query block: A = q or P or dO or dS as they lie (NN: ars = ld, aks = 1) or transposed (TN: ars = 1, aks = ld), B = k,
/// v, dO, q rows, or a per-unit transposed copy of k or v (Sᵀ-free S = q·kᵀ). At the attention's shapes (m = 32 query
/// rows, n ≤ T keys or hd = 64, k = hd or ≤ T) the general GEMM packed both operands for 1–2 MFLOP each call.
/// Tiles of 4 rows × 64 columns keep 16 zmm accumulators; 16-column chunks, then single columns, finish the edges. A
/// narrow C (32–64 columns: the products whose B is k × hd) takes 8 × 32 tiles first, each B row serving 8 rows.
/// Each output is one FMA chain over kk in order, so results do not depend on tiling or threads.
/// </summary>
static unsafe class AttentionTile
{
    /// <summary>True where the AVX-512 tile runs (else the callers keep the packed GEMM).</summary>
    public static bool Supported => Avx512F.IsSupported;

    /// <summary>
    /// The product above; with a hole 0 ≤ <paramref name="hole0"/> &lt; <paramref name="hole1"/> ≤ k the sums skip kk in
    /// [hole0, hole1) — terms the caller knows are exactly 0 (a second-branch row's P and dS over the first branch's keys),
    /// so each output is the same FMA chain less additions of zero: the same value.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Mm(int m, int n, int k, float alpha, float* a, long ars, long aks, float* b, long ldb, bool accumulate, float* c, long ldc,
        int hole0 = 0, int hole1 = 0)
    {
        if (hole1 <= hole0) hole0 = hole1 = k; // no hole: the first run is the whole of [0, k)
        else if (hole0 < 0 || hole1 > k) throw new ArgumentOutOfRangeException(nameof(hole0), $"AttentionTile.Mm: hole [{hole0}, {hole1}) outside [0, {k})");
        var run = new KRuns(hole0, hole1, k);
        // A narrow C (n ≤ 64: P·v, dS·k, dSᵀ·q, Pᵀ·dO, whose B is k × hd with k up to T) in 8-row tiles of 32 columns:
        // B's k × 64 does not stay in L1 over a long k, and each B row loaded now serves 8 rows instead of 4 — half
        // the B traffic from L2 of the 4×64 tiles below, which take the rest (rows past the multiple of 8). One thread,
        // alternated (Session 17): P·v 32×64×256–512 and dS·k 32×64×384 +13–27 %; the short-k Pᵀ·dO, dSᵀ·q (k = 32) ±5 %
        if (n <= 64 && m >= 8 && n >= 32)
        {
            int m8 = m & ~7, n32 = n & ~31;
            for (int c0 = 0; c0 < n32; c0 += 32)
                for (int r8 = 0; r8 < m8; r8 += 8)
                    Tile8x32(run, alpha, a + r8 * ars, ars, aks, b + c0, ldb, accumulate, c + r8 * ldc + c0, ldc);
            if (n32 < n) Columns(m8, n32, n, run, alpha, a, ars, aks, b, ldb, accumulate, c, ldc);
            if (m8 < m) Mm(m - m8, n, k, alpha, a + m8 * ars, ars, aks, b, ldb, accumulate, c + m8 * ldc, ldc, hole0, hole1);
            return;
        }
        // columns outer, rows inner: a 64-column panel of B (k × 64) is read from L2 once and from L1 by every 4-row
        // tile after the first (rows outer streamed all of B through L1 once per tile); A's rows are the small operand
        int m4 = m & ~3, col0 = 0;
        for (; col0 + 64 <= n; col0 += 64)
            for (int r4 = 0; r4 < m4; r4 += 4)
                Tile4x64(run, alpha, a + r4 * ars, ars, aks, b + col0, ldb, accumulate, c + r4 * ldc + col0, ldc);
        Columns(m4, col0, n, run, alpha, a, ars, aks, b, ldb, accumulate, c, ldc);
        int r = m4;
        for (; r < m; r++)
        {
            float* ar = a + r * ars;
            float* cr = c + r * ldc;
            int col = 0;
            for (; col + 16 <= n; col += 16) Tile1x16(run, alpha, ar, aks, b + col, ldb, accumulate, cr + col);
            Scalar(col, n, run, alpha, ar, aks, b, ldb, accumulate, cr);
        }
    }

    /// <summary>Columns [col0, n) of rows [0, rows) (rows a multiple of 4): 4×16 tiles, then single columns.</summary>
    static void Columns(int rows, int col0, int n, KRuns run, float alpha, float* a, long ars, long aks, float* b, long ldb, bool accumulate, float* c, long ldc)
    {
        for (; col0 + 16 <= n; col0 += 16)
            for (int r4 = 0; r4 < rows; r4 += 4)
                Tile4x16(run, alpha, a + r4 * ars, ars, aks, b + col0, ldb, accumulate, c + r4 * ldc + col0, ldc);
        for (int i = 0; i < rows; i++) Scalar(col0, n, run, alpha, a + i * ars, aks, b, ldb, accumulate, c + i * ldc);
    }

    static void Scalar(int col0, int n, KRuns run, float alpha, float* a, long aks, float* b, long ldb, bool accumulate, float* c)
    {
        for (int col = col0; col < n; col++)
        {
            float s = 0;
            for (int kk = 0; kk < run.End0; kk++) s = MathF.FusedMultiplyAdd(a[kk * aks], b[kk * ldb + col], s);
            for (int kk = run.Begin1; kk < run.K; kk++) s = MathF.FusedMultiplyAdd(a[kk * aks], b[kk * ldb + col], s);
            c[col] = accumulate ? c[col] + alpha * s : alpha * s;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Store(float* c, Vector512<float> acc, Vector512<float> alpha, bool accumulate)
    {
        var v = acc * alpha;
        if (accumulate) v += Vector512.Load(c);
        v.Store(c);
    }

    // Keep the accumulators as separate locals: the JIT holds them in registers across the kk loop.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Tile4x64(KRuns run, float alpha, float* a, long ars, long aks, float* b, long ldb, bool accumulate, float* c, long ldc)
    {
        Vector512<float> c00 = default, c01 = default, c02 = default, c03 = default;
        Vector512<float> c10 = default, c11 = default, c12 = default, c13 = default;
        Vector512<float> c20 = default, c21 = default, c22 = default, c23 = default;
        Vector512<float> c30 = default, c31 = default, c32 = default, c33 = default;
        float* a0 = a, a1 = a + ars, a2 = a + 2 * ars, a3 = a + 3 * ars;
        for (int kk = 0, end = run.End0; ; end = run.K)
        {
            for (; kk < end; kk++)
            {
                var b0 = Vector512.Load(b); var b1 = Vector512.Load(b + 16); var b2 = Vector512.Load(b + 32); var b3 = Vector512.Load(b + 48);
                var x = Vector512.Create(*a0);
                c00 = Avx512F.FusedMultiplyAdd(x, b0, c00); c01 = Avx512F.FusedMultiplyAdd(x, b1, c01);
                c02 = Avx512F.FusedMultiplyAdd(x, b2, c02); c03 = Avx512F.FusedMultiplyAdd(x, b3, c03);
                x = Vector512.Create(*a1);
                c10 = Avx512F.FusedMultiplyAdd(x, b0, c10); c11 = Avx512F.FusedMultiplyAdd(x, b1, c11);
                c12 = Avx512F.FusedMultiplyAdd(x, b2, c12); c13 = Avx512F.FusedMultiplyAdd(x, b3, c13);
                x = Vector512.Create(*a2);
                c20 = Avx512F.FusedMultiplyAdd(x, b0, c20); c21 = Avx512F.FusedMultiplyAdd(x, b1, c21);
                c22 = Avx512F.FusedMultiplyAdd(x, b2, c22); c23 = Avx512F.FusedMultiplyAdd(x, b3, c23);
                x = Vector512.Create(*a3);
                c30 = Avx512F.FusedMultiplyAdd(x, b0, c30); c31 = Avx512F.FusedMultiplyAdd(x, b1, c31);
                c32 = Avx512F.FusedMultiplyAdd(x, b2, c32); c33 = Avx512F.FusedMultiplyAdd(x, b3, c33);
                a0 += aks; a1 += aks; a2 += aks; a3 += aks; b += ldb;
            }
            if (end == run.K) break;
            int hole = run.Begin1 - kk; // jump the hole: its terms are 0
            a0 += hole * aks; a1 += hole * aks; a2 += hole * aks; a3 += hole * aks; b += hole * ldb;
            kk = run.Begin1;
        }
        var al = Vector512.Create(alpha);
        Store(c, c00, al, accumulate); Store(c + 16, c01, al, accumulate); Store(c + 32, c02, al, accumulate); Store(c + 48, c03, al, accumulate);
        c += ldc;
        Store(c, c10, al, accumulate); Store(c + 16, c11, al, accumulate); Store(c + 32, c12, al, accumulate); Store(c + 48, c13, al, accumulate);
        c += ldc;
        Store(c, c20, al, accumulate); Store(c + 16, c21, al, accumulate); Store(c + 32, c22, al, accumulate); Store(c + 48, c23, al, accumulate);
        c += ldc;
        Store(c, c30, al, accumulate); Store(c + 16, c31, al, accumulate); Store(c + 32, c32, al, accumulate); Store(c + 48, c33, al, accumulate);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Tile8x32(KRuns run, float alpha, float* a, long ars, long aks, float* b, long ldb, bool accumulate, float* c, long ldc)
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default;
        Vector512<float> c40 = default, c41 = default, c50 = default, c51 = default, c60 = default, c61 = default, c70 = default, c71 = default;
        float* a0 = a, a1 = a + ars, a2 = a + 2 * ars, a3 = a + 3 * ars, a4 = a + 4 * ars, a5 = a + 5 * ars, a6 = a + 6 * ars, a7 = a + 7 * ars;
        for (int kk = 0, end = run.End0; ; end = run.K)
        {
            for (; kk < end; kk++)
            {
                var b0 = Vector512.Load(b); var b1 = Vector512.Load(b + 16);
                var x = Vector512.Create(*a0); c00 = Avx512F.FusedMultiplyAdd(x, b0, c00); c01 = Avx512F.FusedMultiplyAdd(x, b1, c01);
                x = Vector512.Create(*a1); c10 = Avx512F.FusedMultiplyAdd(x, b0, c10); c11 = Avx512F.FusedMultiplyAdd(x, b1, c11);
                x = Vector512.Create(*a2); c20 = Avx512F.FusedMultiplyAdd(x, b0, c20); c21 = Avx512F.FusedMultiplyAdd(x, b1, c21);
                x = Vector512.Create(*a3); c30 = Avx512F.FusedMultiplyAdd(x, b0, c30); c31 = Avx512F.FusedMultiplyAdd(x, b1, c31);
                x = Vector512.Create(*a4); c40 = Avx512F.FusedMultiplyAdd(x, b0, c40); c41 = Avx512F.FusedMultiplyAdd(x, b1, c41);
                x = Vector512.Create(*a5); c50 = Avx512F.FusedMultiplyAdd(x, b0, c50); c51 = Avx512F.FusedMultiplyAdd(x, b1, c51);
                x = Vector512.Create(*a6); c60 = Avx512F.FusedMultiplyAdd(x, b0, c60); c61 = Avx512F.FusedMultiplyAdd(x, b1, c61);
                x = Vector512.Create(*a7); c70 = Avx512F.FusedMultiplyAdd(x, b0, c70); c71 = Avx512F.FusedMultiplyAdd(x, b1, c71);
                a0 += aks; a1 += aks; a2 += aks; a3 += aks; a4 += aks; a5 += aks; a6 += aks; a7 += aks; b += ldb;
            }
            if (end == run.K) break;
            int hole = run.Begin1 - kk; // jump the hole: its terms are 0
            a0 += hole * aks; a1 += hole * aks; a2 += hole * aks; a3 += hole * aks; a4 += hole * aks; a5 += hole * aks; a6 += hole * aks; a7 += hole * aks;
            b += hole * ldb;
            kk = run.Begin1;
        }
        var al = Vector512.Create(alpha);
        Store(c, c00, al, accumulate); Store(c + 16, c01, al, accumulate); c += ldc;
        Store(c, c10, al, accumulate); Store(c + 16, c11, al, accumulate); c += ldc;
        Store(c, c20, al, accumulate); Store(c + 16, c21, al, accumulate); c += ldc;
        Store(c, c30, al, accumulate); Store(c + 16, c31, al, accumulate); c += ldc;
        Store(c, c40, al, accumulate); Store(c + 16, c41, al, accumulate); c += ldc;
        Store(c, c50, al, accumulate); Store(c + 16, c51, al, accumulate); c += ldc;
        Store(c, c60, al, accumulate); Store(c + 16, c61, al, accumulate); c += ldc;
        Store(c, c70, al, accumulate); Store(c + 16, c71, al, accumulate);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Tile4x16(KRuns run, float alpha, float* a, long ars, long aks, float* b, long ldb, bool accumulate, float* c, long ldc)
    {
        Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default;
        float* a0 = a, a1 = a + ars, a2 = a + 2 * ars, a3 = a + 3 * ars;
        for (int kk = 0, end = run.End0; ; end = run.K)
        {
            for (; kk < end; kk++)
            {
                var b0 = Vector512.Load(b);
                c0 = Avx512F.FusedMultiplyAdd(Vector512.Create(*a0), b0, c0);
                c1 = Avx512F.FusedMultiplyAdd(Vector512.Create(*a1), b0, c1);
                c2 = Avx512F.FusedMultiplyAdd(Vector512.Create(*a2), b0, c2);
                c3 = Avx512F.FusedMultiplyAdd(Vector512.Create(*a3), b0, c3);
                a0 += aks; a1 += aks; a2 += aks; a3 += aks; b += ldb;
            }
            if (end == run.K) break;
            int hole = run.Begin1 - kk; // jump the hole: its terms are 0
            a0 += hole * aks; a1 += hole * aks; a2 += hole * aks; a3 += hole * aks; b += hole * ldb;
            kk = run.Begin1;
        }
        var al = Vector512.Create(alpha);
        Store(c, c0, al, accumulate); Store(c + ldc, c1, al, accumulate); Store(c + 2 * ldc, c2, al, accumulate); Store(c + 3 * ldc, c3, al, accumulate);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Tile1x16(KRuns run, float alpha, float* a, long aks, float* b, long ldb, bool accumulate, float* c)
    {
        Vector512<float> c0 = default;
        for (int kk = 0, end = run.End0; ; end = run.K)
        {
            for (; kk < end; kk++)
            {
                c0 = Avx512F.FusedMultiplyAdd(Vector512.Create(*a), Vector512.Load(b), c0);
                a += aks; b += ldb;
            }
            if (end == run.K) break;
            int hole = run.Begin1 - kk; // jump the hole: its terms are 0
            a += hole * aks; b += hole * ldb;
            kk = run.Begin1;
        }
        Store(c, c0, Vector512.Create(alpha), accumulate);
    }

    /// <summary>
    /// dst (cols × rows, row stride ldd) = srcᵀ, src (rows × cols, row stride lds): 8×8 register transposes (GemmPack's),
    /// scalar at the edges. Element by element a scalar copy wrote one cache line per float (dst's stride is T): 11 % of the
    /// DPO-shape attention's forward + backward (perf, Session 14).
    /// </summary>
    public static void Transpose(float* src, long lds, int rows, int cols, float* dst, long ldd)
    {
        int i0 = 0;
        if (Avx.IsSupported)
            for (; i0 + 8 <= rows; i0 += 8)
            {
                int j0 = 0;
                for (; j0 + 8 <= cols; j0 += 8) GemmPack.Transpose8x8(src + i0 * lds + j0, lds, dst + j0 * ldd + i0, ldd);
                for (int i = i0; i < i0 + 8; i++)
                    for (int j = j0; j < cols; j++) dst[j * ldd + i] = src[i * lds + j];
            }
        for (int i = i0; i < rows; i++)
        {
            float* s = src + i * lds;
            for (int j = 0; j < cols; j++) dst[j * ldd + i] = s[j];
        }
    }

    /// <summary>The kk runs of a product: [0, End0) then [Begin1, K) (End0 = Begin1 = K when there is no hole).</summary>
    readonly struct KRuns(int end0, int begin1, int k)
    {
        public readonly int End0 = end0, Begin1 = begin1, K = k;
    }
}
