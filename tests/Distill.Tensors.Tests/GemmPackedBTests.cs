using Distill.Tensors.Autograd;
using Distill.Tensors.Autograd.Ops;
using Distill.Tensors.Kernels;
using Distill.Tensors.Tests.Autograd;
using Distill.Tensors.Threading;

namespace Distill.Tensors.Tests;

/// <summary>
/// A GEMM with op(B) packed once (<see cref="GemmPackedB"/>) equals the same call packing B itself, bit for bit, on both
/// transposes of B and of A, across the split by rows and by columns, edge panels, several K blocks, and the paths that
/// do not read the panels (m ≤ 6, the skinny ones) — for 1 and 2 threads; and the linear ops read a frozen weight's
/// panels (<see cref="PackedLinearWeight"/>) with the same results, forward and backward.
/// </summary>
[Collection("Workers.Count")]
public class GemmPackedBTests
{
    /// <summary>(m, n, k): 12×32 tiles and their edges, rows or columns split, K in 1–3 blocks of KC, and small m.</summary>
    static readonly (int M, int N, int K)[] Shapes =
    [
        (64, 96, 64), (97, 101, 103), (13, 33, 257), (512, 192, 576), (40, 1000, 70), (300, 40, 1600), (26, 70, 3100),
        (6, 64, 64), (3, 50, 40), (200, 8, 300), (17, 4100, 9),
    ];

    public static TheoryData<bool, bool> Transposes => new() { { false, false }, { false, true }, { true, false }, { true, true } };

    [Theory, MemberData(nameof(Transposes))]
    public void PackedBEqualsThePackingCallBitForBit(bool transA, bool transB)
    {
        int saved = Workers.Count;
        try
        {
            var rng = new Random(17 + (transA ? 2 : 0) + (transB ? 1 : 0));
            foreach (var (m, n, k) in Shapes)
                foreach (int threads in new[] { 1, 2 })
                {
                    Workers.Count = threads;
                    float[] a = Random(rng, m * k), b = Random(rng, k * n), c0 = Random(rng, m * n);
                    int lda = transA ? m : k, ldb = transB ? k : n;
                    var packed = GemmPackedB.Pack(transB, k, n, b, ldb);
                    foreach (float beta in new[] { 0f, 1f })
                    {
                        float[] expected = (float[])c0.Clone(), actual = (float[])c0.Clone();
                        Gemm.Sgemm(transA, transB, m, n, k, 0.75f, a, lda, b, ldb, beta, expected, n);
                        Gemm.Sgemm(transA, transB, m, n, k, 0.75f, a, lda, b, ldb, beta, actual, n, packed);
                        for (int i = 0; i < expected.Length; i++)
                            Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(actual[i]),
                                $"{m}×{n}×{k} {(transA ? "T" : "N")}{(transB ? "T" : "N")} β {beta}, {threads} threads: C[{i}] {actual[i]} with the packed B, {expected[i]} packing it");
                    }
                }
        }
        finally { Workers.Count = saved; }
    }

    /// <summary>The panels hold op(B) exactly, edge columns included (the packing itself, independent of any product).</summary>
    [Theory]
    [InlineData(false, 70, 101)]
    [InlineData(true, 70, 101)]
    [InlineData(true, 3100, 40)]
    public void PanelsUnpackToOpB(bool transB, int k, int n)
    {
        var rng = new Random(5);
        var b = Random(rng, k * n);
        var packed = GemmPackedB.Pack(transB, k, n, b, transB ? k : n);
        var opB = new float[k * n];
        packed.Unpack(opB);
        for (int q = 0; q < k; q++)
            for (int j = 0; j < n; j++)
                Assert.Equal(transB ? b[j * k + q] : b[q * n + j], opB[q * n + j]);
    }

    [Fact]
    public void APackedBOfAnotherShapeIsRefused()
    {
        var packed = GemmPackedB.Pack(false, 8, 16, new float[8 * 16], 16);
        var e = Assert.Throws<ArgumentException>(() =>
            Gemm.Sgemm(false, false, 4, 16, 9, 1f, new float[4 * 9], 9, new float[9 * 16], 16, 0f, new float[4 * 16], 16, packed));
        Assert.Contains("8×16", e.Message);
    }

    /// <summary>Linear's forward and input gradient through a frozen W's panels equal those packing W; a trainable W ignores stale panels.</summary>
    [Theory]
    [InlineData(64, 576, 192)]
    [InlineData(37, 70, 101)]
    public void LinearReadsAFrozenWeightsPanelsWithTheSameResults(int rows, int inF, int outF)
    {
        var rng = new Rng(11);
        Tensor x = GradCheck.Input(rng, rows, inF), w = GradCheck.Input(rng, outF, inF);
        w.Grad = null;
        w.RequiresGrad = false;
        var dy = new float[rows * outF];
        rng.FillNormal(dy, 0, 1);

        (float[] Y, float[] Dx) Run()
        {
            x.Grad!.Span.Clear();
            using var tape = new Tape();
            var y = Linear.Forward(tape, x, w);
            var values = y.Span.ToArray();
            tape.Backward(y, dy);
            return (values, x.Grad!.Span.ToArray());
        }

        var plain = Run();
        w.Packed = PackedLinearWeight.Pack(w.Span, outF, inF);
        var packed = Run();
        Assert.Equal(plain.Y, packed.Y);
        Assert.Equal(plain.Dx, packed.Dx);

        // Panels of other values: a frozen W reads them (so the panels are really used) ...
        var other = GradCheck.Input(rng, outF, inF);
        w.Packed = PackedLinearWeight.Pack(other.Span, outF, inF);
        Assert.NotEqual(plain.Y, Run().Y);
        // ... a trainable W never does (its values change every step).
        w.RequiresGrad = true;
        w.Grad = Tensor.Create(outF, inF);
        Assert.Equal(plain.Y, Run().Y);
    }

    static float[] Random(Random rng, int n)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float)(rng.NextDouble() * 2 - 1);
        return a;
    }
}
