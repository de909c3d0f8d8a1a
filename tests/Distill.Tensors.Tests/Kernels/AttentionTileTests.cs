using Distill.Tensors.Kernels;

namespace Distill.Tensors.Tests.Kernels;

/// <summary>
/// <see cref="AttentionTile.Mm"/>'s hole (the first branch's keys, skipped by a second-branch query block): the product with
/// kk in [hole0, hole1) skipped equals, bit for bit, the full product over an A whose hole terms are 0 — as the attention's P
/// and dS are there — for the NN and TN strides, every tile edge (8×32, 4×64, 4×16, 1×16, scalar columns) and holes at the
/// start, middle and end; and every output is one FMA chain over k in order, whichever tile computes it.
/// </summary>
public class AttentionTileTests
{
    [Theory]
    [InlineData(37, 83, 70, 20, 50, false)]
    [InlineData(32, 64, 96, 0, 32, false)]
    [InlineData(5, 17, 40, 30, 40, true)]
    [InlineData(33, 130, 64, 1, 63, true)]
    [InlineData(20, 64, 120, 30, 90, true)]
    public unsafe void HoleEqualsZeroTermsBitForBit(int m, int n, int k, int hole0, int hole1, bool transposedA)
    {
        if (!AttentionTile.Supported) return; // the callers keep the packed GEMM on CPUs without AVX-512
        var rng = new Rng(11);
        float[] a = new float[m * k], b = new float[k * n], full = new float[m * n], skipped = new float[m * n];
        rng.FillNormal(a, 0, 1);
        rng.FillNormal(b, 0, 1);
        rng.FillNormal(full, 0, 1);
        full.CopyTo(skipped, 0);
        long ars = transposedA ? 1 : k, aks = transposedA ? m : 1;
        for (int r = 0; r < m; r++)
            for (int kk = hole0; kk < hole1; kk++) a[r * ars + kk * aks] = 0f;
        float[] holed = (float[])a.Clone();
        for (int r = 0; r < m; r++)
            for (int kk = hole0; kk < hole1; kk++) holed[r * ars + kk * aks] = float.NaN; // never read: skipped, not multiplied by 0
        foreach (bool accumulate in new[] { false, true })
        {
            fixed (float* pa = a, ph = holed, pb = b, pf = full, ps = skipped)
            {
                AttentionTile.Mm(m, n, k, 0.5f, pa, ars, aks, pb, n, accumulate, pf, n);
                AttentionTile.Mm(m, n, k, 0.5f, ph, ars, aks, pb, n, accumulate, ps, n, hole0, hole1);
            }
            for (int i = 0; i < full.Length; i++)
                Assert.True(BitConverter.SingleToInt32Bits(full[i]) == BitConverter.SingleToInt32Bits(skipped[i]) || full[i] == skipped[i],
                    $"accumulate {accumulate}: C[{i / n}, {i % n}] full {full[i]} vs hole-skipped {skipped[i]}");
        }
    }

    /// <summary>
    /// Every output is one FMA chain over k in order, then α·s (+ C): the same bits whichever tile computes it — the
    /// 8×32 tiles of a narrow C (n ≤ 64) with their row and column edges, the 4×64 and 4×16 tiles, single columns.
    /// </summary>
    [Theory]
    [InlineData(32, 64, 200, false)]   // P·v of a 32-row query block, hd 64: 8×32 tiles only
    [InlineData(20, 64, 50, true)]     // 16 rows of 8×32 tiles, 4 left to the 4×64 tile
    [InlineData(37, 40, 90, false)]    // hd 40: 32 columns of 8×32, 8 single columns, 5 rows left
    [InlineData(13, 48, 33, true)]     // 8 rows, a 4×16 column chunk, 5 rows left
    [InlineData(9, 130, 64, false)]    // a wide C: 4×64, 4×16, single columns, a 1-row edge
    public unsafe void EveryOutputIsOneFmaChainOverK(int m, int n, int k, bool transposedA)
    {
        if (!AttentionTile.Supported) return;
        var rng = new Rng(13);
        float[] a = new float[m * k], b = new float[k * n], c = new float[m * n], want = new float[m * n];
        rng.FillNormal(a, 0, 1);
        rng.FillNormal(b, 0, 1);
        long ars = transposedA ? 1 : k, aks = transposedA ? m : 1;
        foreach (bool accumulate in new[] { false, true })
        {
            rng.FillNormal(c, 0, 1);
            for (int r = 0; r < m; r++)
                for (int j = 0; j < n; j++)
                {
                    float sum = 0;
                    for (int kk = 0; kk < k; kk++) sum = MathF.FusedMultiplyAdd(a[r * ars + kk * aks], b[kk * n + j], sum);
                    want[r * n + j] = accumulate ? c[r * n + j] + 0.25f * sum : 0.25f * sum;
                }
            fixed (float* pa = a, pb = b, pc = c) AttentionTile.Mm(m, n, k, 0.25f, pa, ars, aks, pb, n, accumulate, pc, n);
            for (int i = 0; i < c.Length; i++)
                Assert.True(BitConverter.SingleToInt32Bits(want[i]) == BitConverter.SingleToInt32Bits(c[i]),
                    $"accumulate {accumulate}: C[{i / n}, {i % n}] = {c[i]}, the FMA chain gives {want[i]}");
        }
    }

    [Fact]
    public unsafe void HoleOutsideTheSumIsRejected()
    {
        if (!AttentionTile.Supported) return;
        float[] a = new float[8], b = new float[8], c = new float[4];
        var e = Assert.Throws<ArgumentOutOfRangeException>(() =>
        {
            fixed (float* pa = a, pb = b, pc = c) AttentionTile.Mm(2, 2, 4, 1f, pa, 4, 1, pb, 2, false, pc, 2, 2, 5);
        });
        Assert.Contains("hole [2, 5)", e.Message);
    }
}
