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

    /// <summary>
    /// The grouped product (q, k, v or gate, up side by side, x packed once inside the job) against each matrix's own
    /// Forward, bit for bit: every kernel, 1 and 2 threads, edges (m = 1, rows and columns off the tile, two K blocks, more
    /// rows than one row block), and run nested inside a Workers.For body (the pool busy: its chunks run one after the
    /// other on this thread, so x's packing barrier must not wait for a second thread).
    /// </summary>
    [Theory]
    [InlineData(256, 576, 192, 192, 576)]   // the decode step's q, k, v at 256 rows
    [InlineData(256, 1536, 1536, 0, 576)]   // gate, up
    [InlineData(13, 70, 33, 5, 75)]
    [InlineData(1, 37, 64, 0, 576)]         // batch 1: the matrix-vector path
    [InlineData(1100, 96, 40, 0, 1536)]     // a prefill chunk: several row blocks, two K blocks
    public void ForwardManyEqualsSeparateForwards(int m, int n0, int n1, int n2, int k)
    {
        var rng = new Rng(31);
        var x = Fill(rng, m * k, 1);
        var ns = n2 > 0 ? new[] { n0, n1, n2 } : new[] { n0, n1 };
        var ws = ns.Select(n => Fill(rng, n * k, 0.05f)).ToArray();
        int saved = Workers.Count;
        try
        {
            foreach (var isa in Kernels)
            {
                var packed = ns.Select((n, i) => PackedF32Matrix.Pack(ws[i], n, k, isa)).ToArray();
                Workers.Count = 1;
                var separate = packed.Select((p, i) => { var y = new float[m * ns[i]]; p.Forward(x, m, y); return y; }).ToArray();
                foreach (int threads in new[] { 1, 2 })
                    foreach (bool nested in new[] { false, true })
                    {
                        Workers.Count = threads;
                        var ys = ns.Select(n => Enumerable.Repeat(float.NaN, m * n).ToArray()).ToArray();
                        var run = () => PackedF32Matrix.ForwardMany(x, m, packed[0], ys[0], packed[1], ys[1], packed.Length > 2 ? packed[2] : null, packed.Length > 2 ? ys[2] : default);
                        if (nested) Workers.For(2, new Nested { Run = run }, 1);
                        else run();
                        for (int i = 0; i < ns.Length; i++) Assert.True(separate[i].AsSpan().SequenceEqual(ys[i]), $"{isa}, {threads} threads, nested {nested}: matrix {i} differs");
                    }
            }
        }
        finally { Workers.Count = saved; }
        var other = PackedF32Matrix.Pack(new float[3 * (k + 1)], 3, k + 1);
        Assert.Throws<ArgumentException>(() => PackedF32Matrix.ForwardMany(x, m, PackedF32Matrix.Pack(ws[0], n0, k), new float[m * n0], other, new float[m * 3]));
    }

    /// <summary>Runs the product in chunk 0 of a Workers.For, so the pool is busy while it runs.</summary>
    struct Nested : IRangeBody
    {
        public Action Run;
        readonly void IRangeBody.Run(int begin, int end)
        {
            if (begin == 0) Run();
        }
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
