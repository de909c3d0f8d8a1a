using Distill.Tensors.Autograd;
using Distill.Tensors.Kernels;
using Distill.Tensors.Threading;

namespace Distill.Tensors.Tests.Autograd;

/// <summary>
/// The training attention gives the same bits on 1 and 2 threads, including a DPO-shaped call with few (batch, kv head)
/// units, where the backward runs per (kv head, query part), the later parts into partial dK/dV summed afterwards
/// (AttentionGemmKernels.Backward), and a batch large enough for the one-writer-per-(batch, kv head) path.
/// </summary>
[Collection("Workers.Count")]
public class AttentionThreadsTests
{
    // batch 1, 6 heads over 2 kv heads: 2 (batch, kv head) units, below the threshold, so query parts; batch 5 × 2 is not
    [Theory]
    [InlineData(1, 150, true)]
    [InlineData(1, 40, false)]
    [InlineData(5, 70, false)]
    public unsafe void SameBitsOnOneAndTwoThreads(int batch, int T, bool branched)
    {
        const int heads = 6, kvHeads = 2, hd = 16;
        var rng = new Rng((ulong)(batch * 1000 + T));
        using Tensor q = Tensor.Create(batch * T, heads * hd), k = Tensor.Create(batch * T, kvHeads * hd), v = Tensor.Create(batch * T, kvHeads * hd);
        using Tensor dOut = Tensor.Create(batch * T, heads * hd);
        foreach (var t in new[] { q, k, v, dOut }) rng.FillNormal(t.Span, 0, 1);
        // one pair as DPO shares it: a 60-token prompt, a 50-token chosen and a 40-token rejected answer in one row
        var branches = branched ? new BranchedRows(T, [60], [50], [40]) : null;
        var runs = new (float[] O, float[] Dq, float[] Dk, float[] Dv)[2];
        int saved = Workers.Count;
        try
        {
            for (int run = 0; run < 2; run++)
            {
                Workers.Count = run + 1;
                using Tensor p = Tensor.Create(batch, heads, T, T), o = Tensor.Create(batch * T, heads * hd);
                using Tensor dq = Tensor.Create(batch * T, heads * hd), dk = Tensor.Create(batch * T, kvHeads * hd), dv = Tensor.Create(batch * T, kvHeads * hd);
                fixed (int* bounds = branches?.Bounds)
                {
                    var l = new AttentionLayout
                    {
                        Q = q.Pointer, K = k.Pointer, V = v.Pointer, Out = o.Pointer, Ldq = q.Cols, Ldk = k.Cols, Ldv = v.Cols,
                        Batch = batch, Tq = T, Tk = T, KvRowsPerBatch = T, Heads = heads, KvHeads = kvHeads, HeadDim = hd,
                        P = p.Pointer, Scale = 1f / MathF.Sqrt(hd), Branches = bounds,
                    };
                    AttentionGemmKernels.Forward(l);
                    AttentionGemmKernels.Backward(l, dOut.Pointer, dq.Pointer, dk.Pointer, dv.Pointer);
                }
                runs[run] = (o.Span.ToArray(), dq.Span.ToArray(), dk.Span.ToArray(), dv.Span.ToArray());
            }
        }
        finally { Workers.Count = saved; }
        Assert.True(runs[0].O.AsSpan().SequenceEqual(runs[1].O), "out differs between 1 and 2 threads");
        Assert.True(runs[0].Dq.AsSpan().SequenceEqual(runs[1].Dq), "dq differs between 1 and 2 threads");
        Assert.True(runs[0].Dk.AsSpan().SequenceEqual(runs[1].Dk), "dk differs between 1 and 2 threads");
        Assert.True(runs[0].Dv.AsSpan().SequenceEqual(runs[1].Dv), "dv differs between 1 and 2 threads");
        Assert.Contains(runs[0].Dk, x => x != 0f);
    }
}
