using Distill.Tensors.Autograd;
using Distill.Tensors.Kernels;
using Distill.Tensors.Quantization;

namespace Distill.Tensors.Tests.Quantization;

/// <summary>
/// The q8_0 matmul (Q8Gemm): every kernel this CPU runs against exact integer sums computed here, against each other with
/// real scales, and against the float32 matmul within the bound that the block quantization error implies.
/// </summary>
public class Q8GemmTests
{
    static Q8Isa[] Kernels => Enum.GetValues<Q8Isa>().Where(Q8Gemm.IsSupported).ToArray();

    static sbyte[] Codes(Rng rng, int n)
    {
        var q = new sbyte[n];
        for (int i = 0; i < n; i++) q[i] = (sbyte)(rng.NextInt(255) - 127); // [-127, 127], the range QuantizeBlock produces
        return q;
    }

    static float[] Run(Q8Isa isa, Q8Activations x, Q8Matrix w)
    {
        var y = new float[x.M * w.Rows];
        Q8Gemm.Override = isa;
        try { Q8Gemm.Forward(x, w, y); }
        finally { Q8Gemm.Override = null; }
        return y;
    }

    [Theory]
    [InlineData(1, 37, 96)]
    [InlineData(3, 37, 576)]
    [InlineData(4, 64, 64)]
    [InlineData(16, 70, 1536)]
    [InlineData(7, 5, 32)]
    public void EveryKernelGivesTheExactIntegerSumsWithUnitScales(int m, int n, int k)
    {
        var rng = new Rng(11);
        var wq = Codes(rng, n * k);
        var xq = Codes(rng, m * k);
        var w = Q8Matrix.FromCodes(wq, Enumerable.Repeat(1f, n * k / 32).ToArray(), n, k);
        var x = new Q8Activations();
        x.SetCodes(xq, Enumerable.Repeat(1f, m * k / 32).ToArray(), m, k);
        // Independent reference: Σ q_w q_x in long. With unit scales every partial float sum is an integer, exact while
        // below 2²⁴ (random codes keep |Σ| far below; the assertion checks it), so every kernel must match exactly.
        foreach (var isa in Kernels)
        {
            var y = Run(isa, x, w);
            for (int r = 0; r < m; r++)
                for (int j = 0; j < n; j++)
                {
                    long dot = 0;
                    for (int i = 0; i < k; i++) dot += (long)wq[j * k + i] * xq[r * k + i];
                    Assert.True(Math.Abs(dot) < 1 << 24, "test data must keep sums exact in float32");
                    Assert.True(dot == (long)y[r * n + j], $"{isa}: y[{r},{j}] = {y[r * n + j]}, Σ q_w q_x = {dot}");
                }
        }
    }

    [Fact]
    public void KernelsAgreeWithScaledBlockSumsToFloatRounding()
    {
        var rng = new Rng(5);
        int m = 6, n = 33, k = 576, blocks = k / 32;
        var wq = Codes(rng, n * k);
        var xq = Codes(rng, m * k);
        var wd = new float[n * blocks];
        var xd = new float[m * blocks];
        for (int i = 0; i < wd.Length; i++) wd[i] = (float)(Half)(0.001f + rng.NextFloat() * 0.05f);
        for (int i = 0; i < xd.Length; i++) xd[i] = (float)(Half)(0.001f + rng.NextFloat() * 0.5f);
        var w = Q8Matrix.FromCodes(wq, wd, n, k);
        var x = new Q8Activations();
        x.SetCodes(xq, xd, m, k);
        foreach (var isa in Kernels)
        {
            var y = Run(isa, x, w);
            for (int r = 0; r < m; r++)
                for (int j = 0; j < n; j++)
                {
                    double exact = 0, magnitude = 0;
                    for (int b = 0; b < blocks; b++)
                    {
                        long dot = 0;
                        for (int i = b * 32; i < b * 32 + 32; i++) dot += (long)wq[j * k + i] * xq[r * k + i];
                        double term = (double)wd[j * blocks + b] * xd[r * blocks + b] * dot;
                        exact += term;
                        magnitude += Math.Abs(term);
                    }
                    // float32 sums of 18 terms (and one rounding of d_w·d_x per block): a few ulps of Σ|terms|
                    Assert.True(Math.Abs(y[r * n + j] - exact) <= 1e-5 * magnitude + 1e-6, $"{isa}: y[{r},{j}] = {y[r * n + j]}, exact {exact}");
                }
        }
    }

    [Fact]
    public void AgreesWithTheFloatMatmulWithinTheQuantizationBound()
    {
        var rng = new Rng(3);
        int m = 5, n = 48, k = 1536;
        var xf = new float[m * k];
        var wf = new float[n * k];
        rng.FillNormal(xf, 0, 1);
        rng.FillNormal(wf, 0, 0.05f);
        for (int i = 0; i < xf.Length; i += 97) xf[i] *= 20; // activation outliers, as in real models
        var w = Q8Matrix.Quantize(wf, n, k);
        foreach (var isa in Kernels)
        {
            var y = new float[m * n];
            Q8Gemm.Override = isa;
            try { Q8Gemm.Forward(xf, m, w, y); }
            finally { Q8Gemm.Override = null; }
            double worstRatio = 0;
            for (int r = 0; r < m; r++)
                for (int j = 0; j < n; j++)
                {
                    // Per element |v − d·q| ≤ d/2 + 127·|d − fp16(d)| ≤ 0.57·d with d = max|v|/127 of its block (q is rounded
                    // with the float32 d, the stored d is fp16). So |Δy| ≤ Σᵢ |x| e_w + |w| e_x + e_w e_x.
                    double exact = 0, bound = 1e-4;
                    for (int b = 0; b < k / 32; b++)
                    {
                        float aw = 0, ax = 0;
                        for (int i = b * 32; i < b * 32 + 32; i++) { aw = Math.Max(aw, Math.Abs(wf[j * k + i])); ax = Math.Max(ax, Math.Abs(xf[r * k + i])); }
                        double ew = 0.57 * aw / 127, ex = 0.57 * ax / 127;
                        for (int i = b * 32; i < b * 32 + 32; i++)
                        {
                            exact += (double)xf[r * k + i] * wf[j * k + i];
                            bound += Math.Abs(xf[r * k + i]) * ew + Math.Abs(wf[j * k + i]) * ex + ew * ex;
                        }
                    }
                    double err = Math.Abs(y[r * n + j] - exact);
                    Assert.True(err <= bound, $"{isa}: y[{r},{j}] = {y[r * n + j]}, f32 {exact}, |Δ| {err} > bound {bound}");
                    worstRatio = Math.Max(worstRatio, err / bound);
                }
            // The bound is worst-case; typical errors are far inside it (measured ≈ 0.1–0.2 of it).
            Assert.True(worstRatio < 0.5, $"{isa}: worst |Δ|/bound {worstRatio:F3}");
        }
    }

    [Fact]
    public void QuantizeMatchesTheBlockQuantizerAndDequantizes()
    {
        var rng = new Rng(9);
        var wf = new float[3 * 64];
        rng.FillNormal(wf, 0, 1);
        wf[5] = 0; // an all-zero block stays zero
        for (int i = 64; i < 96; i++) wf[i] = 0;
        var w = Q8Matrix.Quantize(wf, 3, 64);
        var back = new float[wf.Length];
        w.Dequantize(back);
        Span<sbyte> q = stackalloc sbyte[32];
        for (int b = 0; b < 6; b++)
        {
            float d = (float)Q8Blocks.QuantizeBlock(wf.AsSpan(b * 32, 32), q);
            for (int i = 0; i < 32; i++) Assert.Equal(d * q[i], back[b * 32 + i]);
        }
        for (int i = 64; i < 96; i++) Assert.Equal(0f, back[i]);
        Assert.Throws<ArgumentException>(() => Q8Matrix.Quantize(new float[40], 1, 40));
    }

    [Fact]
    public void RefusesATapeThatNeedsGradients()
    {
        using var tape = new Tape();
        var x = tape.New(2, 32);
        x.RequiresGrad = true;
        var w = Q8Matrix.Quantize(new float[64], 2, 32);
        Assert.Throws<InvalidOperationException>(() => InferenceLinear.Forward(tape, x, w));
        tape.NoGrad = true;
        Assert.Equal(2, InferenceLinear.Forward(tape, x, w).Cols);
    }
}
