using Distill.Tensors.Autograd;
using Distill.Tensors.Quantization;

namespace Distill.Tensors.Tests.Quantization;

/// <summary>
/// bf16 inference weights (Bf16Matrix): rounding against PyTorch's <c>.to(torch.bfloat16)</c> (reference/bf16_rounding.py
/// and its committed output), and every kernel against the float matmul — exactly the product with the rounded weights
/// up to float32 summation, and within the rounding bound 2⁻⁸·Σ|x·w| of the unrounded ones.
/// </summary>
public class Bf16MatrixTests
{
    static Bf16Isa[] Kernels => Enum.GetValues<Bf16Isa>().Where(Bf16Matrix.IsSupported).ToArray();

    [Fact]
    public void RoundsToNearestEvenAsPyTorchDoes()
    {
        var json = Reference.Json("bf16_rounding.json");
        var f32 = json.GetProperty("f32_bits").EnumerateArray().Select(e => e.GetUInt32()).ToArray();
        var bf16 = json.GetProperty("bf16_bits").EnumerateArray().Select(e => (ushort)e.GetUInt32()).ToArray();
        Assert.Equal(64, f32.Length);
        for (int i = 0; i < f32.Length; i++)
        {
            float v = BitConverter.UInt32BitsToSingle(f32[i]);
            if (float.IsNaN(v))
            {
                // NaN payloads are not specified: torch's vectorized path gives 0xFFFF here, c10's scalar one 0x7FC0 (ours)
                Assert.True(float.IsNaN(Bf16Matrix.Widen(bf16[i])) && float.IsNaN(Bf16Matrix.Widen(Bf16Matrix.Round(v))));
                continue;
            }
            Assert.True(bf16[i] == Bf16Matrix.Round(v), $"0x{f32[i]:X8} ({v}): torch 0x{bf16[i]:X4}, ours 0x{Bf16Matrix.Round(v):X4}");
        }
        // widening is exact: bf16 → f32 → bf16 is the identity
        foreach (var b in bf16.Where(b => !float.IsNaN(Bf16Matrix.Widen(b)))) Assert.Equal(b, Bf16Matrix.Round(Bf16Matrix.Widen(b)));
    }

    [Theory]
    [InlineData(1, 37, 576)]
    [InlineData(4, 33, 64)]
    [InlineData(16, 70, 1536)]
    [InlineData(7, 5, 75)]   // a column count that is no multiple of 8 or 16: the tails
    [InlineData(2, 3, 5)]
    public void EveryKernelMatchesTheFloatMatmulWithinTheRoundingBound(int m, int n, int k)
    {
        var rng = new Rng(12);
        var xf = new float[m * k];
        var wf = new float[n * k];
        rng.FillNormal(xf, 0, 1);
        rng.FillNormal(wf, 0, 0.05f);
        var w = Bf16Matrix.Quantize(wf, n, k);
        Assert.Equal(2L * n * k, w.Bytes);
        var wr = new float[wf.Length];
        w.Dequantize(wr);
        for (int i = 0; i < wf.Length; i++) Assert.True(Math.Abs(wr[i] - wf[i]) <= Math.Abs(wf[i]) / 256, $"w[{i}]"); // half an ulp of 8 significant bits: 2⁻⁸|w|
        foreach (var isa in Kernels)
        {
            var y = new float[m * n];
            Bf16Matrix.Override = isa;
            try { w.Forward(xf, m, y); }
            finally { Bf16Matrix.Override = null; }
            for (int r = 0; r < m; r++)
                for (int j = 0; j < n; j++)
                {
                    double rounded = 0, exact = 0, magnitude = 0;
                    for (int i = 0; i < k; i++)
                    {
                        rounded += (double)xf[r * k + i] * wr[j * k + i];
                        exact += (double)xf[r * k + i] * wf[j * k + i];
                        magnitude += Math.Abs((double)xf[r * k + i] * wf[j * k + i]);
                    }
                    float got = y[r * n + j];
                    // float32 sums of k products: a few ulps of Σ|terms|; the weights' rounding: ≤ 2⁻⁸ Σ|x·w|
                    Assert.True(Math.Abs(got - rounded) <= 1e-5 * magnitude + 1e-7, $"{isa}: y[{r},{j}] = {got}, with bf16 weights {rounded}");
                    Assert.True(Math.Abs(got - exact) <= magnitude / 256 + 1e-5 * magnitude + 1e-7, $"{isa}: y[{r},{j}] = {got}, f32 {exact}");
                }
        }
    }

    [Fact]
    public void RefusesATapeThatNeedsGradients()
    {
        using var tape = new Tape();
        var x = tape.New(2, 5);
        x.RequiresGrad = true;
        var w = Bf16Matrix.Quantize(new float[15], 3, 5);
        Assert.Contains("bf16", Assert.Throws<InvalidOperationException>(() => InferenceLinear.Forward(tape, x, w)).Message);
        tape.NoGrad = true;
        Assert.Equal(3, InferenceLinear.Forward(tape, x, w).Cols);
    }
}
