using Distill.Tensors.Autograd;
using Distill.Tensors.Kernels;
using Distill.Tensors.Quantization;

namespace Distill.Tensors.Tests;

/// <summary>
/// The product counter the benchmarks' floors rest on (<see cref="GemmWork"/>): 2·m·n·k per product on every path —
/// packed GEMM, skinny reductions, dots, rank update, GEMV, batched, an inference format's product and a grouped one —
/// and nothing while off. In the serial collection: the counter is process-wide.
/// </summary>
[Collection("Workers.Count")]
public class GemmWorkTests
{
    [Fact]
    public void EveryProductPathCountsTwoMnk()
    {
        var rng = new Random(3);
        // (transA, transB, m, n, k): packed, skinny reduction (LoRA's dA), dots (h = x Aᵀ), rank update (y += h Bᵀ), GEMV
        var calls = new (bool TA, bool TB, int M, int N, int K)[] { (false, true, 64, 96, 80), (true, false, 8, 576, 512), (false, true, 300, 8, 576), (false, true, 300, 576, 8), (false, true, 1, 200, 64) };
        long expected = 0;
        GemmWork.Reset();
        GemmWork.Counting = true;
        try
        {
            foreach (var (ta, tb, m, n, k) in calls)
            {
                float[] a = Random(rng, m * k), b = Random(rng, k * n), c = new float[m * n];
                Gemm.Sgemm(ta, tb, m, n, k, 1f, a, ta ? m : k, b, tb ? k : n, 0f, c, n);
                expected += 2L * m * n * k;
            }
            float[] ba = Random(rng, 3 * 20 * 30), bb = Random(rng, 3 * 30 * 40), bc = new float[3 * 20 * 40];
            Gemm.SgemmBatched(false, false, 20, 40, 30, 1f, ba, 30, 600, bb, 40, 1200, 0f, bc, 40, 800, 3);
            expected += 3 * 2L * 20 * 40 * 30;
            Assert.Equal(expected, GemmWork.Flops);

            using var tape = new Tape { NoGrad = true };
            var x = Tensor.FromArray(Random(rng, 24 * 64), 24, 64);
            float[] w0 = Random(rng, 96 * 64), w1 = Random(rng, 32 * 64);
            InferenceLinear.Forward(tape, x, Q8Matrix.Quantize(w0, 96, 64));
            expected += 2L * 24 * 96 * 64;
            Assert.Equal(expected, GemmWork.Flops);
            PackedF32Matrix.ForwardMany(x.Span, 24, PackedF32Matrix.Pack(w0, 96, 64), new float[24 * 96], PackedF32Matrix.Pack(w1, 32, 64), new float[24 * 32]);
            expected += 2L * 24 * (96 + 32) * 64;
            Assert.Equal(expected, GemmWork.Flops);
            x.Dispose();

            GemmWork.Counting = false;
            Gemm.Sgemm(false, true, 64, 96, 80, 1f, Random(rng, 64 * 80), 80, Random(rng, 96 * 80), 80, 0f, new float[64 * 96], 96);
            Assert.Equal(expected, GemmWork.Flops);
        }
        finally { GemmWork.Counting = false; GemmWork.Reset(); }
    }

    static float[] Random(Random rng, int n)
    {
        var v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float)(rng.NextDouble() * 2 - 1);
        return v;
    }
}
