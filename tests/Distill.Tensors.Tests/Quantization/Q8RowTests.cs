using Distill.Tensors.Quantization;

namespace Distill.Tensors.Tests.Quantization;

/// <summary>
/// The per-row 8-bit option (q8row: one float32 scale per output row, Q8Matrix.QuantizePerRow) through the q8_0 kernels:
/// the quantizer's codes, every kernel against the exact scaled sums, and the float matmul within the bound its
/// rounding implies.
/// </summary>
public class Q8RowTests
{
    static Q8Isa[] Kernels => Enum.GetValues<Q8Isa>().Where(Q8Gemm.IsSupported).ToArray();

    [Fact]
    public void QuantizesEachRowWithOneScaleAndDequantizes()
    {
        var rng = new Rng(4);
        int rows = 3, cols = 96;
        var wf = new float[rows * cols];
        rng.FillNormal(wf, 0, 1);
        for (int i = cols; i < 2 * cols; i++) wf[i] = 0; // an all-zero row stays zero
        var w = Q8Matrix.QuantizePerRow(wf, rows, cols);
        Assert.True(w.PerRow);
        Assert.Equal("q8row", w.Format);
        Assert.Equal(rows * cols + 4 * rows, w.Bytes); // one byte per weight and a float per row
        var back = new float[wf.Length];
        w.Dequantize(back);
        for (int r = 0; r < rows; r++)
        {
            float amax = 0;
            for (int i = 0; i < cols; i++) amax = Math.Max(amax, Math.Abs(wf[r * cols + i]));
            float d = amax / 127f;
            for (int i = 0; i < cols; i++)
            {
                float q = d == 0 ? 0 : MathF.Round(wf[r * cols + i] * (1f / d), MidpointRounding.AwayFromZero);
                Assert.Equal(d * q, back[r * cols + i]);
                Assert.True(Math.Abs(q) <= 127);
            }
        }
        Assert.Throws<InvalidOperationException>(() => w.WriteGguf(new byte[rows * cols / 32 * 34]));
    }

    [Fact]
    public void EveryKernelAgreesWithTheExactScaledSumsAndTheFloatMatmulWithinTheBound()
    {
        var rng = new Rng(8);
        int m = 6, n = 40, k = 576;
        var xf = new float[m * k];
        var wf = new float[n * k];
        rng.FillNormal(xf, 0, 1);
        rng.FillNormal(wf, 0, 0.05f);
        for (int i = 0; i < xf.Length; i += 97) xf[i] *= 20;
        var w = Q8Matrix.QuantizePerRow(wf, n, k);
        var wd = new float[wf.Length];
        w.Dequantize(wd);
        var q = new sbyte[32];
        foreach (var isa in Kernels)
        {
            var y = new float[m * n];
            Q8Gemm.Override = isa;
            try { Q8Gemm.Forward(xf, m, w, y); }
            finally { Q8Gemm.Override = null; }
            for (int r = 0; r < m; r++)
                for (int j = 0; j < n; j++)
                {
                    // x's q8_0 blocks as the kernel sees them, against the dequantized row: the same products in double
                    double exact = 0, magnitude = 0, viaF32 = 0, bound = 1e-4;
                    float rowMax = 0;
                    for (int i = 0; i < k; i++) rowMax = Math.Max(rowMax, Math.Abs(wf[j * k + i]));
                    double ew = 0.5 * rowMax / 127 * (1 + 1e-6);
                    for (int b = 0; b < k / 32; b++)
                    {
                        var xb = xf.AsSpan(r * k + b * 32, 32);
                        float dx = (float)Kernels_Q8(xb, q);
                        float ax = 0;
                        foreach (float v in xb) ax = Math.Max(ax, Math.Abs(v));
                        double ex = 0.57 * ax / 127;
                        for (int i = 0; i < 32; i++)
                        {
                            double t = (double)wd[j * k + b * 32 + i] * dx * q[i];
                            exact += t;
                            magnitude += Math.Abs(t);
                            viaF32 += (double)xf[r * k + b * 32 + i] * wf[j * k + b * 32 + i];
                            bound += Math.Abs(xf[r * k + b * 32 + i]) * ew + Math.Abs(wf[j * k + b * 32 + i]) * ex + ew * ex;
                        }
                    }
                    Assert.True(Math.Abs(y[r * n + j] - exact) <= 1e-5 * magnitude + 1e-6, $"{isa}: y[{r},{j}] = {y[r * n + j]}, exact {exact}");
                    Assert.True(Math.Abs(y[r * n + j] - viaF32) <= bound, $"{isa}: y[{r},{j}] = {y[r * n + j]}, f32 {viaF32}, bound {bound}");
                }
        }
    }

    static Half Kernels_Q8(ReadOnlySpan<float> x, Span<sbyte> q) => Distill.Tensors.Kernels.Q8Blocks.QuantizeBlock(x, q);
}
