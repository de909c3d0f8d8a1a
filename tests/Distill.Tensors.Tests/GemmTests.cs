using Distill.Tensors.Kernels;
using Distill.Tensors.Threading;

namespace Distill.Tensors.Tests;

/// <summary>
/// The fast GEMM paths against SgemmNaive (double accumulation) on every transpose combination,
/// edge/prime/zero sizes, padded strides, alpha/beta variants, beta = 0 over NaN, threads 1 vs 2.
/// </summary>
[Collection("Workers.Count")]
public class GemmTests
{
    /// <summary>(m, n, k): zero, one, primes, micro-tile edges (6×16 and 12×32 tiles), and block edges (KC = 1,536 in equal K blocks, MC = 96, NC = 4064).</summary>
    public static readonly (int M, int N, int K)[] Shapes =
    [
        (0, 5, 3), (5, 0, 3), (4, 3, 0), (1, 1, 1), (1, 37, 19), (1, 131, 300), (2, 1, 5), (7, 13, 17),
        (6, 16, 256), (6, 16, 257), (13, 31, 513), (97, 101, 103), (150, 70, 40), (5, 4100, 3), (13, 8200, 5), (20, 500, 300),
        (64, 64, 64), (37, 17, 1),
        // K in 2 and 3 equal blocks under KC = 1,536 (800 + 800; 1,040 + 1,040 + 1,020)
        (20, 33, 1600), (26, 70, 3100), // both sides > 16: the packed path for every transpose (not the skinny one)
        // split by columns with a claim longer than one L2's worth of B panels (GemmSchedule.ColumnsBody's sub-chunks)
        (25, 4000, 600),
        // LoRA's adapter gradients (AᵀB with r = 8 or a ragged r over a long reduction): the skinny path (GemmSkinny.cs)
        (384, 8, 1024), (8, 384, 1024), (3, 37, 600), (100, 7, 500), (16, 40, 256), (1024, 8, 384), (33, 5, 71), (40, 16, 64),
        // LoRA's up-projection and input gradient (A·op(B) with K = r ≤ 16): the rank update (GemmRankUpdate.cs), with
        // 64-column blocks, 16-column blocks and a scalar tail
        (512, 576, 8), (40, 131, 16), (33, 65, 1), (100, 200, 5),
    ];

    public static TheoryData<bool, bool> TransposeCases => new() { { false, false }, { false, true }, { true, false }, { true, true } };

    [Theory, MemberData(nameof(TransposeCases))]
    public void Sgemm_matches_the_double_precision_reference(bool transA, bool transB)
    {
        var rng = new Random(1234 + (transA ? 2 : 0) + (transB ? 1 : 0));
        foreach (var (m, n, k) in Shapes)
            foreach (var (alpha, beta, pad) in new[] { (1f, 0f, 0), (-0.5f, 1f, 3), (1.25f, 0.75f, 1) })
                CheckAgainstNaive(rng, transA, transB, m, n, k, alpha, beta, pad, (a, lda, b, ldb, c, ldc) =>
                    Gemm.Sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc));
    }

    /// <summary>Every micro-kernel (scalar, AVX2 6×16, AVX-512 12×32) on every transpose combination.</summary>
    public static TheoryData<GemmIsa, bool, bool> KernelCases
    {
        get
        {
            var data = new TheoryData<GemmIsa, bool, bool>();
            foreach (var isa in Enum.GetValues<GemmIsa>())
                foreach (var (ta, tb) in new[] { (false, false), (false, true), (true, false), (true, true) }) data.Add(isa, ta, tb);
            return data;
        }
    }

    /// <summary>
    /// Shapes around both register tiles (6×16 and 12×32: one less, equal, one more, and a partial
    /// last tile), K = 1, K in 2 and 3 blocks (under KC = 1,536, and under the old KC = 576 and 384), and rows past MC = 96 (and past 2 threads' shares).
    /// </summary>
    static readonly (int M, int N, int K)[] KernelShapes =
    [
        (2, 1, 1), (5, 15, 7), (6, 16, 8), (7, 17, 9), (11, 31, 1), (12, 32, 33), (13, 33, 257), (25, 65, 40),
        (24, 64, 300), (150, 97, 19), (37, 40, 512), (7, 17, 769), (100, 130, 385), (25, 40, 1200), (20, 40, 1600), (18, 33, 3100),
    ];

    [SkippableTheory, MemberData(nameof(KernelCases))]
    public void Every_kernel_matches_the_reference(GemmIsa isa, bool transA, bool transB)
    {
        // A CPU without this kernel's instructions cannot run it (reported as skipped); the dev machines (Zen 4, Zen 5) run all three.
        SkipUnlessSupported(isa);
        var rng = new Random(99 + (int)isa);
        GemmIsaSelect.Override = isa; // this thread's calls, carried to their worker chunks
        try
        {
            foreach (var (m, n, k) in KernelShapes)
                foreach (var (alpha, beta, pad) in new[] { (1f, 0f, 0), (0.5f, 0.25f, 2) })
                    CheckAgainstNaive(rng, transA, transB, m, n, k, alpha, beta, pad, (a, lda, b, ldb, c, ldc) =>
                        Gemm.SgemmManaged(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, parallel: true));
        }
        finally { GemmIsaSelect.Override = null; }
    }

    [SkippableFact]
    public void Narrow_outputs_take_the_smaller_tile_unless_a_kernel_is_forced()
    {
        Skip.If(GemmIsaSelect.Default != GemmIsa.Avx512, $"the rule concerns the AVX-512 12×32 kernel; this CPU's default is {GemmIsaSelect.Default}");
        Assert.Equal(GemmIsa.Avx512, GemmIsaSelect.For(512, 384));
        Assert.Equal(GemmIsa.Avx2, GemmIsaSelect.For(1024, 8));  // LoRA x·Aᵀ, rank 8
        Assert.Equal(GemmIsa.Avx2, GemmIsaSelect.For(4, 384));
        GemmIsaSelect.Override = GemmIsa.Avx512;
        try { Assert.Equal(GemmIsa.Avx512, GemmIsaSelect.For(1024, 8)); }
        finally { GemmIsaSelect.Override = null; }
    }

    /// <summary>A kernel this CPU cannot run is a skipped test (it shows in the count), never a silent pass.</summary>
    static void SkipUnlessSupported(GemmIsa isa) =>
        Skip.IfNot(GemmIsaSelect.IsSupported(isa), $"this CPU cannot run the {isa} kernel");

    [Fact]
    public void Beta_zero_never_reads_C()
    {
        var rng = new Random(5);
        foreach (var (m, n, k) in new[] { (1, 40, 7), (9, 20, 5), (30, 30, 0) })
            foreach (bool transB in new[] { false, true })
            {
                var a = Random(rng, m * Math.Max(k, 1));
                var b = Random(rng, Math.Max(k, 1) * n);
                var c = new float[m * n];
                Array.Fill(c, float.NaN);
                Gemm.Sgemm(false, transB, m, n, k, 1f, a, Math.Max(k, 1), b, transB ? Math.Max(k, 1) : n, 0f, c, n);
                Assert.All(c, v => Assert.True(float.IsFinite(v), $"NaN leaked from C for {m}×{n}×{k} transB={transB}"));
            }
    }

    [Fact]
    public void Skinny_paths_are_bit_identical_for_one_and_two_threads()
    {
        var rng = new Random(8);
        int saved = Workers.Count;
        try
        {
            foreach (var (m, n, k) in new[] { (384, 8, 1024), (8, 384, 1024), (3, 1000, 700), (250, 13, 900), (1024, 8, 384), (512, 576, 8), (300, 99, 16) })
                foreach (var (ta, tb) in new[] { (true, false), (false, true), (false, false) })
                {
                    var a = Random(rng, k * m);
                    var b = Random(rng, k * n);
                    var c1 = Random(rng, m * n);
                    var c2 = (float[])c1.Clone();
                    Workers.Count = 1;
                    Gemm.Sgemm(ta, tb, m, n, k, 0.5f, a, ta ? m : k, b, tb ? k : n, 1f, c1, n);
                    Workers.Count = 2;
                    Gemm.Sgemm(ta, tb, m, n, k, 0.5f, a, ta ? m : k, b, tb ? k : n, 1f, c2, n);
                    Assert.True(c1.AsSpan().SequenceEqual(c2), $"skinny {m}×{n}×{k} tA={ta} tB={tb}: 1 and 2 threads differ");
                }
        }
        finally { Workers.Count = saved; }
    }

    // The rank update computes each element as the micro-kernel does (FMA chain over k from zero, then α·acc + β·C), so it
    // equals the packed path bit for bit; a forced micro-kernel (GemmIsaSelect.Override) takes the packed path.
    [SkippableFact]
    public void Rank_update_equals_the_packed_micro_kernel_bit_for_bit()
    {
        Skip.IfNot(System.Runtime.Intrinsics.X86.Avx512F.IsSupported, "the rank update runs with AVX-512 only");
        var rng = new Random(21);
        foreach (var (m, n, k) in new[] { (512, 576, 8), (512, 192, 8), (40, 131, 16), (33, 65, 1) })
            foreach (bool tb in new[] { false, true })
                foreach (var (alpha, beta) in new[] { (1f, 0f), (0.5f, 1f), (2f, 0.75f) })
                {
                    var a = Random(rng, m * k);
                    var b = Random(rng, k * n);
                    var c1 = Random(rng, m * n);
                    var c2 = (float[])c1.Clone();
                    Gemm.Sgemm(false, tb, m, n, k, alpha, a, k, b, tb ? k : n, beta, c1, n);
                    GemmIsaSelect.Override = GemmIsa.Avx512;
                    try { Gemm.Sgemm(false, tb, m, n, k, alpha, a, k, b, tb ? k : n, beta, c2, n); }
                    finally { GemmIsaSelect.Override = null; }
                    Assert.True(c1.AsSpan().SequenceEqual(c2), $"{m}×{n}×{k} tB={tb} α={alpha} β={beta}: rank update and micro-kernel differ");
                }
    }

    [SkippableTheory]
    [InlineData(GemmIsa.Scalar)]
    [InlineData(GemmIsa.Avx2)]
    [InlineData(GemmIsa.Avx512)]
    public void Results_are_bit_identical_for_one_and_two_threads(GemmIsa isa)
    {
        SkipUnlessSupported(isa);
        var rng = new Random(7);
        int saved = Workers.Count;
        GemmIsaSelect.Override = isa;
        try
        {
            foreach (var (m, n, k) in new[] { (150, 70, 300), (20, 500, 300), (1, 3000, 200), (301, 257, 520), (25, 4000, 600) })
                foreach (bool transB in new[] { false, true })
                {
                    var a = Random(rng, m * k);
                    var b = Random(rng, k * n);
                    var c1 = Random(rng, m * n);
                    var c2 = (float[])c1.Clone();
                    Workers.Count = 1;
                    Gemm.SgemmManaged(false, transB, m, n, k, 1f, a, k, b, transB ? k : n, 0.5f, c1, n, parallel: true);
                    Workers.Count = 2;
                    Gemm.SgemmManaged(false, transB, m, n, k, 1f, a, k, b, transB ? k : n, 0.5f, c2, n, parallel: true);
                    Assert.True(c1.AsSpan().SequenceEqual(c2), $"{isa} {m}×{n}×{k} transB={transB}: 1 and 2 threads differ");
                }
        }
        finally { Workers.Count = saved; GemmIsaSelect.Override = null; }
    }

    [SkippableTheory, MemberData(nameof(KernelCases))]
    public void Batched_matches_one_call_per_item(GemmIsa isa, bool transA, bool transB)
    {
        SkipUnlessSupported(isa);
        var rng = new Random(11);
        GemmIsaSelect.Override = isa;
        try
        {
            // batch ≥ threads (split by item), batch 1 (split inside), batch 0, and odd edges / K = 1.
            foreach (var (m, n, k, batch) in new[] { (17, 9, 33, 5), (1, 20, 16, 3), (64, 64, 32, 1), (6, 7, 8, 0), (13, 33, 1, 4), (25, 40, 70, 3) })
            {
                // Items are padded apart (strides larger than one item) so a read past an item shows up.
                int strideA = m * k + 3, strideB = k * n + 5, strideC = m * n + 2;
                var a = Random(rng, batch * strideA + 1);
                var b = Random(rng, batch * strideB + 1);
                var c = Random(rng, batch * strideC + 1);
                var expected = (float[])c.Clone();
                int lda = transA ? m : k, ldb = transB ? k : n;
                for (int i = 0; i < batch; i++)
                    Gemm.SgemmNaive(transA, transB, m, n, k, 0.7f, a.AsSpan(i * strideA), lda, b.AsSpan(i * strideB), ldb, 0.5f, expected.AsSpan(i * strideC), n);
                Gemm.SgemmBatched(transA, transB, m, n, k, 0.7f, a, lda, strideA, b, ldb, strideB, 0.5f, c, n, strideC, batch);
                // |error| ≤ (2·sqrt(k) + 4)·eps·Σ|a||b| (see CheckAgainstNaive) with |a|,|b| ≤ 1 and k ≤ 70: under 1e-4·k.
                for (int i = 0; i < c.Length; i++)
                    Assert.True(Math.Abs(c[i] - expected[i]) <= 1e-4f * k * (1 + Math.Abs(expected[i])), $"{isa} batched {m}×{n}×{k}×{batch}: element {i}: {c[i]} vs {expected[i]}");
            }
        }
        finally { GemmIsaSelect.Override = null; }
    }

    [Fact]
    public void Bad_operands_are_rejected_with_the_operand_named()
    {
        var small = new float[5];
        var ok = new float[100];
        var e = Assert.Throws<ArgumentException>(() => Gemm.Sgemm(false, false, 3, 3, 3, 1f, small, 3, ok, 3, 0f, ok, 3));
        Assert.Contains("A (3×3", e.Message);
        var ld = Assert.Throws<ArgumentOutOfRangeException>(() => Gemm.Sgemm(false, true, 3, 4, 5, 1f, ok, 5, ok, 4, 0f, ok, 4));
        Assert.Contains("ldb=4", ld.Message);
    }

    /// <summary>Unit round-off of float32: 2^-24.</summary>
    const double UnitRoundoff = 1.0 / (1 << 24);

    internal delegate void GemmCall(float[] a, int lda, float[] b, int ldb, float[] c, int ldc);

    /// <summary>
    /// Runs call on random operands with row strides padded by pad, and compares every C element with
    /// SgemmNaive. Tolerance: float32 accumulation of k products carries an error bounded by about
    /// k·eps·Σ|a||b| in the worst case and growing like sqrt(k)·eps·Σ|a||b| for random-signed data
    /// (Higham, "Accuracy and Stability of Numerical Algorithms", §3.1 and §4.2); we allow
    /// (2·sqrt(k) + 4)·eps·|alpha|·Σ_p|a_ip||b_pj| plus 2·eps·|beta·c| for the final update. The padding
    /// between rows is filled with NaN, so any read outside the operand shows up.
    /// </summary>
    internal static void CheckAgainstNaive(Random rng, bool transA, bool transB, int m, int n, int k, float alpha, float beta, int pad, GemmCall call)
    {
        int aRows = transA ? k : m, aCols = transA ? m : k, bRows = transB ? n : k, bCols = transB ? k : n;
        int lda = Math.Max(1, aCols + pad), ldb = Math.Max(1, bCols + pad), ldc = Math.Max(1, n + pad);
        var a = Strided(rng, aRows, aCols, lda);
        var b = Strided(rng, bRows, bCols, ldb);
        var c = Strided(rng, m, n, ldc);
        if (beta == 0f && n > 0) for (int i = 0; i < m; i++) c.AsSpan(i * ldc, n).Fill(float.NaN);
        var expected = (float[])c.Clone();
        Gemm.SgemmNaive(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, expected, ldc);
        var absA = Array.ConvertAll(a, Math.Abs);
        var absB = Array.ConvertAll(b, Math.Abs);
        var magnitude = new float[expected.Length];
        Gemm.SgemmNaive(transA, transB, m, n, k, 1f, absA, lda, absB, ldb, 0f, magnitude, ldc);
        var before = (float[])c.Clone();
        call(a, lda, b, ldb, c, ldc);
        double slack = (2 * Math.Sqrt(k) + 4) * UnitRoundoff;
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                int at = i * ldc + j;
                double prev = beta == 0f ? 0 : Math.Abs(beta * (double)before[at]);
                double tol = slack * Math.Abs(alpha) * magnitude[at] + 2 * UnitRoundoff * (Math.Abs(expected[at]) + prev) + 1e-30;
                Assert.True(Math.Abs(c[at] - (double)expected[at]) <= tol,
                    $"transA={transA} transB={transB} {m}×{n}×{k} alpha={alpha} beta={beta} pad={pad}: C[{i},{j}] = {c[at]}, expected {expected[at]} (tol {tol:g3})");
            }
        // Padding of C between rows must be untouched.
        for (int i = 0; i < m; i++)
            for (int j = n; j < ldc && i * ldc + j < c.Length; j++)
                Assert.True(float.IsNaN(c[i * ldc + j]), $"{m}×{n}×{k}: C padding at row {i} col {j} was written");
    }

    static float[] Strided(Random rng, int rows, int cols, int ld)
    {
        var x = new float[rows == 0 || cols == 0 ? 0 : (rows - 1) * ld + cols];
        Array.Fill(x, float.NaN);
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < cols; j++) x[r * ld + j] = (float)(rng.NextDouble() * 2 - 1);
        return x;
    }

    internal static float[] Random(Random rng, int length)
    {
        var x = new float[length];
        for (int i = 0; i < length; i++) x[i] = (float)(rng.NextDouble() * 2 - 1);
        return x;
    }
}
