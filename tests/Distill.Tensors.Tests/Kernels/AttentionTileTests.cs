using Distill.Tensors.Kernels;

namespace Distill.Tensors.Tests.Kernels;

/// <summary>
/// <see cref="AttentionTile.Mm"/>'s hole (the first branch's keys, skipped by a second-branch query block): the product with
/// kk in [hole0, hole1) skipped equals, bit for bit, the full product over an A whose hole terms are 0 — as the attention's P
/// and dS are there — for the NN and TN strides, every tile edge (4×64, 4×16, 1×16, scalar columns) and holes at the start,
/// middle and end.
/// </summary>
public class AttentionTileTests
{
    [Theory]
    [InlineData(37, 83, 70, 20, 50, false)]
    [InlineData(32, 64, 96, 0, 32, false)]
    [InlineData(5, 17, 40, 30, 40, true)]
    [InlineData(33, 130, 64, 1, 63, true)]
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
