using Distill.Tensors.Autograd;
using Distill.Tensors.Autograd.Ops;

namespace Distill.Tensors.Tests.Autograd;

public unsafe class PrefixPanelsTests
{
    // The panels hold each prompt's keys transposed, 32 keys a panel: entry [d][x] of kv head h's panel p is key 32p + x's
    // dim d, zero past the prompt; rows not packed have none.
    [Fact]
    public void PanelsHoldTheKeysTransposedAndZeroPadded()
    {
        const int kvHeads = 2, hd = 16, length = 37;
        using var cache = new KvCache(4, 64, kvHeads, hd);
        new Rng(3).FillNormal(cache.K.Span, 0, 1);
        cache.PackPrefix(kvHeads, [2, 0], [length, 5]);
        var pk = cache.PrefixPanels!;
        float* panels = pk.Of(2, length);
        Assert.True(panels != null);
        Assert.True(pk.Of(2, length - 1) == null); // another length: not this packing
        Assert.True(pk.Of(1, length) == null);     // a row not packed
        Assert.Equal(0, (long)panels % 64);       // the micro-kernel's aligned B loads
        var k = cache.K.Span;
        for (int h = 0; h < kvHeads; h++)
            for (int j = 0; j < 64; j++)
                for (int d = 0; d < hd; d++)
                {
                    float want = j < length ? k[(2 * 64 + j) * kvHeads * hd + h * hd + d] : 0f;
                    float got = panels[((h * 2 + j / 32) * hd + d) * 32 + j % 32];
                    Assert.True(want == got, $"h{h} key {j} d{d}: {got}, want {want}");
                }
    }

    // The value panels hold each prompt's values in columns of 32: entry [j][x] of kv head h's panel c is value j's dim
    // 32c + x, zero past hd (48 = a whole panel and a half one); a write into the prompt drops them with the keys.
    [Fact]
    public void ValuePanelsHoldTheValuesInColumnsOf32AndZeroPadded()
    {
        const int kvHeads = 2, hd = 48, length = 37;
        using var cache = new KvCache(3, 64, kvHeads, hd);
        new Rng(5).FillNormal(cache.V.Span, 0, 1);
        cache.PackPrefix(kvHeads, [1, 2], [length, 9]);
        var pp = cache.PrefixPanels!;
        float* panels = pp.ValuesOf(1, length);
        Assert.True(panels != null);
        Assert.True(pp.ValuesOf(1, length + 1) == null);
        Assert.True(pp.ValuesOf(0, length) == null);
        Assert.Equal(0, (long)panels % 64);
        var v = cache.V.Span;
        for (int h = 0; h < kvHeads; h++)
            for (int c = 0; c < 2; c++)
                for (int j = 0; j < length; j++)
                    for (int x = 0; x < 32; x++)
                    {
                        int d = 32 * c + x;
                        float want = d < hd ? v[(1 * 64 + j) * kvHeads * hd + h * hd + d] : 0f;
                        float got = panels[((h * 2 + c) * length + j) * 32 + x];
                        Assert.True(want == got, $"h{h} panel {c} value {j} column {x}: {got}, want {want}");
                    }
        using var other = new KvCache(1, 64, kvHeads, hd);
        cache.CopyRowFrom(other, 0, 1, 1);
        Assert.True(pp.ValuesOf(1, length) == null);
        Assert.True(pp.ValuesOf(2, 9) != null);
    }

    // A write into a packed prompt's positions drops its panels (they would be stale); a write after them does not.
    [Fact]
    public void WritesIntoThePromptDropItsPanels()
    {
        const int heads = 2, kvHeads = 1, hd = 16;
        using var cache = new KvCache(3, 16, kvHeads, hd);
        cache.PackPrefix(kvHeads, [0, 1, 2], [6, 6, 6]);
        using var tape = new Tape { NoGrad = true };
        using Tensor q = Tensor.Create(1, heads * hd), k = Tensor.Create(1, kvHeads * hd), v = Tensor.Create(1, kvHeads * hd);
        CausalAttention.DecodeRows(tape, q, k, v, cache, new DecodeRows([0], [6]), heads, kvHeads); // position 6: after the prompt
        Assert.True(cache.PrefixPanels!.Of(0, 6) != null);
        CausalAttention.DecodeRows(tape, q, k, v, cache, new DecodeRows([0], [5]), heads, kvHeads); // inside it
        Assert.True(cache.PrefixPanels.Of(0, 6) == null);
        using var other = new KvCache(1, 16, kvHeads, hd);
        cache.CopyRowFrom(other, 0, 1, 3);
        Assert.True(cache.PrefixPanels.Of(1, 6) == null);
        Assert.True(cache.PrefixPanels.Of(2, 6) != null);
        Assert.Throws<ArgumentException>(() => cache.PackPrefix(kvHeads, [1, 1], [2, 2])); // rows must be distinct
    }

    // Decoding with the prompts' keys and values packed (the micro-kernel's scores; its values read from the panels) gives
    // the same bits as without (the lanes pass; the values copied into panels per step): the same FMA chain per output. Head dims 64 (two whole value panels), 80 (an edge panel) and 16; 2–5 samples a
    // prompt (partial and whole 12-query tiles, two tiles); prompts of 37–130 keys (an edge key panel).
    [Theory]
    [InlineData(64, 4, 96)]
    [InlineData(64, 3, 50)]
    [InlineData(80, 5, 37)]
    [InlineData(16, 2, 130)]
    public void PackedPrefixPanelsGiveTheSameBits(int hd, int n, int promptLength)
    {
        const int heads = 9, kvHeads = 3, prompts = 8;
        int rows = prompts * n;
        var rng = new Rng(5);
        using var plain = new KvCache(rows, 200, kvHeads, hd);
        using var packed = new KvCache(rows, 200, kvHeads, hd);
        rng.FillNormal(plain.K.Span, 0, 1);
        rng.FillNormal(plain.V.Span, 0, 1);
        plain.K.Span.CopyTo(packed.K.Span);
        plain.V.Span.CopyTo(packed.V.Span);
        packed.PackPrefix(kvHeads, Enumerable.Range(0, prompts).Select(i => i * n).ToArray(), Enumerable.Repeat(promptLength, prompts).ToArray());
        var live = Enumerable.Range(0, rows).ToArray();
        var decode = new DecodeRows(live, live.Select(b => promptLength + b % 7).ToArray(), live.Select(b => b / n * n).ToArray(), Enumerable.Repeat(promptLength, rows).ToArray());
        using Tensor q = Tensor.Create(rows, heads * hd), k = Tensor.Create(rows, kvHeads * hd), v = Tensor.Create(rows, kvHeads * hd);
        rng.FillNormal(q.Span, 0, 1);
        rng.FillNormal(k.Span, 0, 1);
        rng.FillNormal(v.Span, 0, 1);
        using var tape = new Tape { NoGrad = true };
        var a = CausalAttention.DecodeRows(tape, q, k, v, plain, decode, heads, kvHeads).Span.ToArray();
        var b = CausalAttention.DecodeRows(tape, q, k, v, packed, decode, heads, kvHeads).Span.ToArray();
        Assert.True(packed.PrefixPanels!.Of(0, promptLength) != null); // still packed: the step wrote after the prompts
        int differ = 0;
        for (int i = 0; i < a.Length; i++) if (BitConverter.SingleToInt32Bits(a[i]) != BitConverter.SingleToInt32Bits(b[i])) differ++;
        Assert.True(differ == 0, $"{differ} of {a.Length} outputs differ");
    }
}
