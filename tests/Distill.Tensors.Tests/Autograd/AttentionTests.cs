using Distill.Tensors.Autograd;
using Distill.Tensors.Autograd.Ops;

namespace Distill.Tensors.Tests.Autograd;

public class AttentionTests
{
    static Tensor Rows(Tensor src, int batch, int T, int t0, int len)
    {
        var dst = Tensor.Create(batch * len, src.Cols);
        for (int b = 0; b < batch; b++)
            src.Span.Slice((b * T + t0) * src.Cols, len * src.Cols).CopyTo(dst.Span.Slice(b * len * src.Cols, len * src.Cols));
        return dst;
    }

    // KV-cache decode (prefill 3, then one token at a time) equals the full causal forward, row for row.
    [Fact]
    public void KvCacheDecodeEqualsFullForward()
    {
        const int batch = 2, T = 7, heads = 4, kvHeads = 2, hd = 5;
        var rng = new Rng(31);
        using Tensor q = Tensor.Create(batch * T, heads * hd), k = Tensor.Create(batch * T, kvHeads * hd), v = Tensor.Create(batch * T, kvHeads * hd);
        rng.FillNormal(q.Span, 0, 1); rng.FillNormal(k.Span, 0, 1); rng.FillNormal(v.Span, 0, 1);
        using var tape = new Tape { NoGrad = true };
        var full = CausalAttention.Forward(tape, q, k, v, batch, heads, kvHeads).Span.ToArray();
        using var cache = new KvCache(batch, capacity: 16, kvHeads, hd);
        int pos = 0;
        foreach (int len in new[] { 3, 1, 1, 1, 1 })
        {
            using Tensor qs = Rows(q, batch, T, pos, len), ks = Rows(k, batch, T, pos, len), vs = Rows(v, batch, T, pos, len);
            var y = CausalAttention.Decode(tape, qs, ks, vs, cache, pos, heads, kvHeads);
            for (int b = 0; b < batch; b++)
                for (int i = 0; i < len; i++)
                    for (int c = 0; c < heads * hd; c++)
                        Assert.Equal(full[(b * T + pos + i) * heads * hd + c], y.Span[(b * len + i) * heads * hd + c], 5);
            pos += len;
        }
        Assert.Equal(7, cache.Length);
    }

    // Grouped-query attention equals multi-head attention with each kv head repeated for its group.
    [Fact]
    public void GroupedQueryEqualsRepeatedKvHeads()
    {
        const int batch = 1, T = 5, heads = 6, kvHeads = 2, hd = 4, group = heads / kvHeads;
        var rng = new Rng(32);
        using Tensor q = Tensor.Create(batch * T, heads * hd), k = Tensor.Create(batch * T, kvHeads * hd), v = Tensor.Create(batch * T, kvHeads * hd);
        rng.FillNormal(q.Span, 0, 1); rng.FillNormal(k.Span, 0, 1); rng.FillNormal(v.Span, 0, 1);
        using Tensor k2 = Tensor.Create(batch * T, heads * hd), v2 = Tensor.Create(batch * T, heads * hd);
        for (int r = 0; r < T; r++)
            for (int h = 0; h < heads; h++)
            {
                k.Span.Slice(r * kvHeads * hd + h / group * hd, hd).CopyTo(k2.Span.Slice(r * heads * hd + h * hd, hd));
                v.Span.Slice(r * kvHeads * hd + h / group * hd, hd).CopyTo(v2.Span.Slice(r * heads * hd + h * hd, hd));
            }
        using var tape = new Tape { NoGrad = true };
        var a = CausalAttention.Forward(tape, q, k, v, batch, heads, kvHeads).Span.ToArray();
        var b = CausalAttention.Forward(tape, q, k2, v2, batch, heads, heads).Span.ToArray();
        for (int i = 0; i < a.Length; i++) Assert.Equal(b[i], a[i], 6);
    }

    // A padded key never changes the rows of the other sequence, and masked keys get no weight.
    [Fact]
    public void KeyPaddingMaskDropsKeys()
    {
        const int T = 4, heads = 1, hd = 3;
        var rng = new Rng(33);
        using var qkv = Tensor.Create(2 * T, 3 * hd);
        rng.FillNormal(qkv.Span, 0, 1);
        using var mask = Tensor.FromArray([0, 0, 0, 0, 0, float.NegativeInfinity, 0, 0], 2, T);
        using var tape = new Tape { NoGrad = true };
        var masked = CausalAttention.Forward(tape, qkv, 2, heads, heads, mask).Span.ToArray();
        var plain = CausalAttention.Forward(tape, qkv, 2, heads, heads).Span.ToArray();
        for (int i = 0; i < T * hd; i++) Assert.Equal(plain[i], masked[i]);      // sequence 0 untouched
        // sequence 1, query 1 sees keys {0, 1} minus key 1 → exactly v_0
        for (int c = 0; c < hd; c++) Assert.Equal(qkv[(T + 0) * 3 * hd + 2 * hd + c], masked[(T + 1) * hd + c], 6);
    }
}
