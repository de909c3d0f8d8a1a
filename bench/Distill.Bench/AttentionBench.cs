using System.Diagnostics;
using Distill.Tensors;
using Distill.Tensors.Autograd;
using Distill.Tensors.Autograd.Ops;

namespace Distill.Bench;

/// <summary>One attention measurement: forward and forward + backward of CausalAttention, median milliseconds.</summary>
public sealed record AttentionResult(int T, int Window, int Heads, int KvHeads, int HeadDim, double ForwardMs, double ForwardBackwardMs);

/// <summary>
/// CausalAttention (the training/prefill GEMM path) with and without a sliding window at the same shape, so the
/// saving from skipping the key blocks left of the band is measured side by side: q (T, heads·hd), k, v
/// (T, kvHeads·hd), batch 1, one backward from a random dO. Median of several samples after a warm-up.
/// </summary>
public static class AttentionBench
{
    public static AttentionResult Measure(int T, int window, int heads = 8, int kvHeads = 2, int headDim = 64, int samples = 5)
    {
        using Parameter q = new("q", T, heads * headDim), k = new("k", T, kvHeads * headDim), v = new("v", T, kvHeads * headDim);
        var rng = new Rng(7);
        rng.FillNormal(q.Span, 0, 1); rng.FillNormal(k.Span, 0, 1); rng.FillNormal(v.Span, 0, 1);
        var dOut = new float[T * heads * headDim];
        rng.FillNormal(dOut, 0, 1);
        using var tape = new Tape();
        double Run(bool backward)
        {
            tape.Reset();
            tape.NoGrad = !backward;
            var watch = Stopwatch.StartNew();
            var y = CausalAttention.Forward(tape, q, k, v, 1, heads, kvHeads, window: window);
            if (backward) tape.Backward(y, dOut);
            return watch.Elapsed.TotalMilliseconds;
        }
        double Median(bool backward)
        {
            Run(backward); // warm-up
            var ms = Enumerable.Range(0, samples).Select(_ => Run(backward)).Order().ToArray();
            return ms[samples / 2];
        }
        return new AttentionResult(T, window, heads, kvHeads, headDim, Median(false), Median(true));
    }
}
