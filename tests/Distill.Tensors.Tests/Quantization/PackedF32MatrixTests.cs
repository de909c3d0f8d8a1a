using Distill.Tensors.Autograd;
using Distill.Tensors.Kernels;
using Distill.Tensors.Quantization;
using Distill.Tensors.Threading;

namespace Distill.Tensors.Tests.Quantization;

/// <summary>
/// Pre-packed float32 inference weights (PackedF32Matrix): the same product as the training GEMM to float32 rounding —
/// within 1e-5 · Σ|x·w| of the double-accumulated reference (the bound float32 summation over K ≤ 1,536 terms keeps
/// with a wide margin: K·2⁻²⁴ ≈ 1e-4 worst case, ~1e-6 typical), for every micro-kernel, edge (rows and columns that
/// are no multiple of the tile, K over one block) and thread count (bit-identical for 1 and 2 threads).
/// </summary>
public class PackedF32MatrixTests
{
    static GemmIsa[] Kernels => Enum.GetValues<GemmIsa>().Where(GemmIsaSelect.IsSupported).ToArray();

    [Theory]
    [InlineData(1, 37, 576)]      // batch-1 decoding: the matrix-vector path
    [InlineData(1, 64, 1536)]     // … over two K blocks
    [InlineData(2, 3, 5)]
    [InlineData(13, 70, 75)]      // edges: 13 rows (12 + 1), 70 columns (2 × 32 + 6), K no multiple of 8
    [InlineData(256, 192, 576)]   // the decode step's k/v projection at 256 rows
    [InlineData(40, 96, 1536)]    // down_proj's K in two blocks of 768
    [InlineData(300, 33, 64)]     // more rows than one row block (264)
    public void MatchesTheReferenceGemmForEveryKernel(int m, int n, int k)
    {
        var rng = new Rng(21);
        var x = new float[m * k];
        var w = new float[n * k];
        rng.FillNormal(x, 0, 1);
        rng.FillNormal(w, 0, 0.05f);
        var reference = new float[m * n];
        Gemm.SgemmNaive(false, true, m, n, k, 1f, x, k, w, k, 0f, reference, n);
        var training = new float[m * n];
        Gemm.SgemmManaged(false, true, m, n, k, 1f, x, k, w, k, 0f, training, n);
        foreach (var isa in Kernels)
        {
            var packed = PackedF32Matrix.Pack(w, n, k, isa);
            Assert.Equal(isa, packed.Isa);
            var y = new float[m * n];
            y.AsSpan().Fill(float.NaN); // overwritten, never read
            packed.Forward(x, m, y);
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                {
                    double bound = 0;
                    for (int q = 0; q < k; q++) bound += Math.Abs((double)x[i * k + q] * w[j * k + q]);
                    bound = 1e-5 * bound + 1e-7;
                    Assert.True(Math.Abs(y[i * n + j] - reference[i * n + j]) <= bound, $"{isa} [{i},{j}]: {y[i * n + j]} vs reference {reference[i * n + j]} (bound {bound:E1})");
                    Assert.True(Math.Abs(y[i * n + j] - training[i * n + j]) <= 2 * bound, $"{isa} [{i},{j}]: {y[i * n + j]} vs training GEMM {training[i * n + j]}");
                }
        }
    }

    [Fact]
    public void DequantizeGivesBackTheWeightExactly()
    {
        var rng = new Rng(3);
        foreach (var (n, k) in new[] { (70, 75), (33, 1600), (1, 1) })
        {
            var w = new float[n * k];
            rng.FillNormal(w, 0, 1);
            var back = new float[n * k];
            PackedF32Matrix.Pack(w, n, k).Dequantize(back);
            Assert.Equal(w, back);
        }
    }

    [Fact]
    public void ResultsDoNotDependOnTheThreadCount()
    {
        var rng = new Rng(5);
        int m = 256, n = 576, k = 576;
        var x = new float[m * k];
        var w = new float[n * k];
        rng.FillNormal(x, 0, 1);
        rng.FillNormal(w, 0, 0.05f);
        var packed = PackedF32Matrix.Pack(w, n, k);
        int saved = Workers.Count;
        try
        {
            var ys = new[] { 1, 2 }.Select(t =>
            {
                Workers.Count = t;
                var y = new float[m * n];
                packed.Forward(x, m, y);
                return y;
            }).ToArray();
            Assert.Equal(ys[0], ys[1]);
        }
        finally { Workers.Count = saved; }
    }

    [Fact]
    public void TheLoraOverloadAddsTheBranchAndBiasInPlace()
    {
        var rng = new Rng(8);
        int m = 20, n = 70, k = 48, r = 4;
        var x = Tensor.FromArray(Fill(rng, m * k, 1), m, k);
        var w = Fill(rng, n * k, 0.1f);
        var a = Tensor.FromArray(Fill(rng, r * k, 0.1f), r, k);
        var b = Tensor.FromArray(Fill(rng, n * r, 0.1f), n, r);
        var bias = Tensor.FromArray(Fill(rng, n, 1), n);
        using var tape = new Tape { NoGrad = true, InferenceWeights = true };
        var y = InferenceLinear.Forward(tape, x, PackedF32Matrix.Pack(w, n, k), bias, a, b, 0.5f).Span.ToArray();
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double expect = bias.Span[j];
                for (int q = 0; q < k; q++) expect += (double)x.Span[i * k + q] * w[j * k + q];
                for (int t = 0; t < r; t++)
                {
                    double h = 0;
                    for (int q = 0; q < k; q++) h += (double)x.Span[i * k + q] * a.Span[t * k + q];
                    expect += 0.5 * h * b.Span[j * r + t];
                }
                Assert.True(Math.Abs(y[i * n + j] - expect) < 1e-4, $"[{i},{j}]: {y[i * n + j]} vs {expect}");
            }
        Assert.Throws<ArgumentException>(() => InferenceLinear.Forward(tape, x, PackedF32Matrix.Pack(w, n, k), null, b, a, 1f));
    }

    [Fact]
    public void BadShapesAreRefused()
    {
        Assert.Throws<ArgumentException>(() => PackedF32Matrix.Pack(new float[10], 3, 4));
        Assert.Throws<ArgumentException>(() => PackedF32Matrix.Pack([], 0, 4));
        var p = PackedF32Matrix.Pack(new float[12], 3, 4);
        Assert.Throws<ArgumentException>(() => p.Forward(new float[7], 2, new float[6]));
    }

    static float[] Fill(Rng rng, int count, float std)
    {
        var v = new float[count];
        rng.FillNormal(v, 0, std);
        return v;
    }
}
