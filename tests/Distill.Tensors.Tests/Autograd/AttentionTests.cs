using Distill.Tensors.Autograd;
using Distill.Tensors.Autograd.Ops;
using Distill.Tensors.Kernels;

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

    // KV-cache decode (prefill 5, then one token at a time to 14) equals the full causal forward, row for row; with a
    // window of 4 the decode runs well past the window and still equals the full windowed forward.
    [Theory]
    [InlineData(0)]
    [InlineData(4)]
    public void KvCacheDecodeEqualsFullForward(int window)
    {
        const int batch = 2, T = 14, heads = 4, kvHeads = 2, hd = 5;
        var rng = new Rng(31);
        using Tensor q = Tensor.Create(batch * T, heads * hd), k = Tensor.Create(batch * T, kvHeads * hd), v = Tensor.Create(batch * T, kvHeads * hd);
        rng.FillNormal(q.Span, 0, 1); rng.FillNormal(k.Span, 0, 1); rng.FillNormal(v.Span, 0, 1);
        using var tape = new Tape { NoGrad = true };
        var full = CausalAttention.Forward(tape, q, k, v, batch, heads, kvHeads, window: window).Span.ToArray();
        if (window > 0) // the window changes the last row: this test can fail
            Assert.NotEqual(CausalAttention.Forward(tape, q, k, v, batch, heads, kvHeads).Span[^1], full[^1]);
        using var cache = new KvCache(batch, capacity: 16, kvHeads, hd);
        int pos = 0;
        foreach (int len in new[] { 5, 1, 1, 1, 1, 1, 1, 1, 1, 1 })
        {
            using Tensor qs = Rows(q, batch, T, pos, len), ks = Rows(k, batch, T, pos, len), vs = Rows(v, batch, T, pos, len);
            var y = CausalAttention.Decode(tape, qs, ks, vs, cache, pos, heads, kvHeads, window);
            for (int b = 0; b < batch; b++)
                for (int i = 0; i < len; i++)
                    for (int c = 0; c < heads * hd; c++)
                    {
                        float e = full[(b * T + pos + i) * heads * hd + c], a = y.Span[(b * len + i) * heads * hd + c];
                        Assert.True(MathF.Abs(e - a) <= 1e-5f * (1 + MathF.Abs(e)), $"b{b} pos {pos + i} c{c}: decode {a} vs full {e}");
                    }
            pos += len;
        }
        Assert.Equal(T, cache.Length);
    }

    // Ragged decode (DecodeRows): three sequences of lengths 3, 9 and 6 prefilled into permuted cache rows, then one
    // token per step at each row's own position, rows dropping out; every output equals that sequence's full causal
    // forward row, with and without a window (grouped-query heads: 6 query heads over 2 kv heads).
    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    public void RaggedDecodeEqualsEachSequencesFullForward(int window)
    {
        const int heads = 6, kvHeads = 2, hd = 4, steps = 4;
        int[] prefill = [3, 9, 6], cacheRow = [2, 0, 1];
        var rng = new Rng(77);
        var seqs = prefill.Select(p =>
        {
            int T = p + steps;
            Tensor q = Tensor.Create(T, heads * hd), k = Tensor.Create(T, kvHeads * hd), v = Tensor.Create(T, kvHeads * hd);
            rng.FillNormal(q.Span, 0, 1); rng.FillNormal(k.Span, 0, 1); rng.FillNormal(v.Span, 0, 1);
            return (q, k, v, T);
        }).ToArray();
        using var tape = new Tape { NoGrad = true };
        var full = seqs.Select(x => CausalAttention.Forward(tape, x.q, x.k, x.v, 1, heads, kvHeads, window: window).Span.ToArray()).ToArray();
        using var cache = new KvCache(3, capacity: 16, kvHeads, hd);
        for (int b = 0; b < 3; b++)
        {
            using var one = new KvCache(1, capacity: 16, kvHeads, hd);
            using Tensor q = Rows(seqs[b].q, 1, seqs[b].T, 0, prefill[b]), k = Rows(seqs[b].k, 1, seqs[b].T, 0, prefill[b]), v = Rows(seqs[b].v, 1, seqs[b].T, 0, prefill[b]);
            CausalAttention.Decode(tape, q, k, v, one, 0, heads, kvHeads, window);
            cache.CopyRowFrom(one, 0, cacheRow[b], prefill[b]);
        }
        for (int s = 0; s < steps; s++)
        {
            var live = Enumerable.Range(0, 3).Where(b => s < 2 || b != 1).ToArray(); // sequence 1 finishes after 2 steps
            var rows = new DecodeRows(live.Select(b => cacheRow[b]).ToArray(), live.Select(b => prefill[b] + s).ToArray());
            using Tensor q = Tensor.Create(live.Length, heads * hd), k = Tensor.Create(live.Length, kvHeads * hd), v = Tensor.Create(live.Length, kvHeads * hd);
            for (int i = 0; i < live.Length; i++)
            {
                var x = seqs[live[i]];
                int p = prefill[live[i]] + s;
                x.q.Span.Slice(p * heads * hd, heads * hd).CopyTo(q.Span.Slice(i * heads * hd));
                x.k.Span.Slice(p * kvHeads * hd, kvHeads * hd).CopyTo(k.Span.Slice(i * kvHeads * hd));
                x.v.Span.Slice(p * kvHeads * hd, kvHeads * hd).CopyTo(v.Span.Slice(i * kvHeads * hd));
            }
            var y = CausalAttention.DecodeRows(tape, q, k, v, cache, rows, heads, kvHeads, window).Span;
            for (int i = 0; i < live.Length; i++)
                for (int c = 0; c < heads * hd; c++)
                {
                    float e = full[live[i]][(prefill[live[i]] + s) * heads * hd + c], a = y[i * heads * hd + c];
                    Assert.True(MathF.Abs(e - a) <= 1e-5f * (1 + MathF.Abs(e)), $"seq {live[i]} step {s} c{c}: ragged {a} vs full {e}");
                }
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => CausalAttention.DecodeRows(tape, Tensor.Create(1, heads * hd), Tensor.Create(1, kvHeads * hd),
            Tensor.Create(1, kvHeads * hd), cache, new DecodeRows([0], [16]), heads, kvHeads));
        foreach (var x in seqs) { x.q.Dispose(); x.k.Dispose(); x.v.Dispose(); }
    }

    // Ragged decode with shared prefixes (DecodeRows prefix rows): P prompts, each prefilled once into the cache row of
    // its first sample; its n samples each generate their own tokens into their own rows and read the prompt's keys
    // from the shared row. Every output equals the sample's full causal forward (prompt + its own tokens). Head dims
    // 4 (per-row unit) and 16 (the grouped Vector256 kernel); with a window every row is its own group; 2 prompts give
    // units of one kv head, 12 (≥ 4 per thread on ≤ 3 threads) units of every kv head.
    [Theory]
    [InlineData(0, 4, 2)]
    [InlineData(0, 16, 2)]
    [InlineData(0, 16, 12)]
    [InlineData(3, 16, 2)]
    [InlineData(3, 8, 12)]
    [InlineData(0, 64, 3, 11)]  // AVX-512 own keys (hd a multiple of 16): blocks of four keys, a remainder of 1–3, 64-column values
    [InlineData(0, 48, 12, 7)]  // hd 48: three 16-column chunks (the values' tail loop)
    [InlineData(5, 16, 12, 9)]  // a window inside the own keys
    [InlineData(0, 64, 12, 3, 4)] // 4 samples × 3 heads per kv head: the shared values' GEMM in whole 12-query tiles
    [InlineData(0, 80, 12, 3, 5)] // 15 queries (a tile of 12 and one of 3), hd 80: a 32 + 32 + 16-column values panel
    public void SharedPrefixDecodeEqualsEachSamplesFullForward(int window, int hd, int prompts, int steps = 4, int n = 3)
    {
        const int heads = 6, kvHeads = 2;
        var rng = new Rng(91);
        int[] prefill = Enumerable.Range(0, prompts).Select(i => 2 + 3 * i % 7).ToArray();
        // one (q, k, v) per sample: the prompt positions shared by its prompt's samples, the generated ones its own
        Tensor Fill(int rows, int cols) { var t = Tensor.Create(rows, cols); rng.FillNormal(t.Span, 0, 1); return t; }
        var seqs = new (Tensor q, Tensor k, Tensor v, int T)[prompts * n];
        for (int i = 0; i < prompts; i++)
        {
            int T = prefill[i] + steps;
            using Tensor pk = Fill(prefill[i], kvHeads * hd), pv = Fill(prefill[i], kvHeads * hd);
            for (int j = 0; j < n; j++)
            {
                Tensor q = Fill(T, heads * hd), k = Fill(T, kvHeads * hd), v = Fill(T, kvHeads * hd);
                pk.Span.CopyTo(k.Span);
                pv.Span.CopyTo(v.Span);
                seqs[i * n + j] = (q, k, v, T);
            }
        }
        using var tape = new Tape { NoGrad = true };
        var full = seqs.Select(x => CausalAttention.Forward(tape, x.q, x.k, x.v, 1, heads, kvHeads, window: window).Span.ToArray()).ToArray();
        using var cache = new KvCache(prompts * n, capacity: 32, kvHeads, hd);
        for (int i = 0; i < prompts; i++)
        {
            using var one = new KvCache(1, capacity: 32, kvHeads, hd);
            var x = seqs[i * n];
            using Tensor q = Rows(x.q, 1, x.T, 0, prefill[i]), k = Rows(x.k, 1, x.T, 0, prefill[i]), v = Rows(x.v, 1, x.T, 0, prefill[i]);
            CausalAttention.Decode(tape, q, k, v, one, 0, heads, kvHeads, window);
            cache.CopyRowFrom(one, 0, i * n, prefill[i]); // once per prompt: the other samples' rows hold no prompt keys
        }
        // the prompts' keys packed as BatchSampler packs them (PrefixPanels: the shared scores on the GEMM micro-kernel)
        cache.PackPrefix(kvHeads, Enumerable.Range(0, prompts).Select(i => i * n).ToArray(), prefill);
        for (int s = 0; s < steps; s++)
        {
            var live = Enumerable.Range(0, prompts * n).Where(b => s < 2 || b % n != 1).ToArray(); // sample 1 of each prompt stops after 2 steps
            var rows = new DecodeRows(live, live.Select(b => prefill[b / n] + s).ToArray(), live.Select(b => b / n * n).ToArray(), live.Select(b => prefill[b / n]).ToArray());
            using Tensor q = Tensor.Create(live.Length, heads * hd), k = Tensor.Create(live.Length, kvHeads * hd), v = Tensor.Create(live.Length, kvHeads * hd);
            for (int i = 0; i < live.Length; i++)
            {
                var x = seqs[live[i]];
                int p = prefill[live[i] / n] + s;
                x.q.Span.Slice(p * heads * hd, heads * hd).CopyTo(q.Span.Slice(i * heads * hd));
                x.k.Span.Slice(p * kvHeads * hd, kvHeads * hd).CopyTo(k.Span.Slice(i * kvHeads * hd));
                x.v.Span.Slice(p * kvHeads * hd, kvHeads * hd).CopyTo(v.Span.Slice(i * kvHeads * hd));
            }
            var y = CausalAttention.DecodeRows(tape, q, k, v, cache, rows, heads, kvHeads, window).Span;
            for (int i = 0; i < live.Length; i++)
                for (int c = 0; c < heads * hd; c++)
                {
                    float e = full[live[i]][(prefill[live[i] / n] + s) * heads * hd + c], a = y[i * heads * hd + c];
                    Assert.True(MathF.Abs(e - a) <= 1e-5f * (1 + MathF.Abs(e)), $"row {live[i]} step {s} c{c}: shared-prefix {a} vs full {e}");
                }
        }
        Assert.Throws<ArgumentException>(() => new DecodeRows([0], [3], [0], [4])); // a prefix past the row's position
        foreach (var x in seqs) { x.q.Dispose(); x.k.Dispose(); x.v.Dispose(); }
    }

    // Sliding window against a double-precision reference written from the mask definition: key j is kept for query i
    // iff i − window < j ≤ i (masking_utils.py: kv_idx > q_idx − sliding_window and kv_idx <= q_idx).
    [Theory]
    [InlineData(1, 20, 5)]
    [InlineData(8, 24, 8)]
    public void SlidingWindowEqualsMaskedSoftmax(int window, int T, int seed)
    {
        const int heads = 2, kvHeads = 1, hd = 4;
        var rng = new Rng((ulong)seed);
        using Tensor q = Tensor.Create(T, heads * hd), k = Tensor.Create(T, kvHeads * hd), v = Tensor.Create(T, kvHeads * hd);
        rng.FillNormal(q.Span, 0, 1); rng.FillNormal(k.Span, 0, 1); rng.FillNormal(v.Span, 0, 1);
        using var tape = new Tape { NoGrad = true };
        var y = CausalAttention.Forward(tape, q, k, v, 1, heads, kvHeads, window: window).Span.ToArray();
        for (int h = 0; h < heads; h++)
            for (int i = 0; i < T; i++)
            {
                var s = new double[T];
                double max = double.NegativeInfinity, z = 0;
                for (int j = 0; j < T; j++)
                {
                    bool keep = j <= i && j > i - window;
                    double dot = 0;
                    for (int d = 0; d < hd; d++) dot += q[i * heads * hd + h * hd + d] * (double)k[j * hd + d];
                    s[j] = keep ? dot / Math.Sqrt(hd) : double.NegativeInfinity;
                    max = Math.Max(max, s[j]);
                }
                for (int j = 0; j < T; j++) { s[j] = Math.Exp(s[j] - max); z += s[j]; }
                for (int d = 0; d < hd; d++)
                {
                    double e = 0;
                    for (int j = 0; j < T; j++) e += s[j] / z * v[j * hd + d];
                    float a = y[i * heads * hd + h * hd + d];
                    Assert.True(Math.Abs(a - e) <= 1e-5 * (1 + Math.Abs(e)), $"window {window} h{h} i{i} d{d}: {a} vs {e}");
                }
            }
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
        for (int i = 0; i < a.Length; i++) Assert.True(MathF.Abs(b[i] - a[i]) <= 1e-6f, $"[{i}]: GQA {a[i]} vs repeated {b[i]}");
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

/// <summary>The GEMM attention kernels equal the row-at-a-time reference kernels, forward and backward (GQA, fused layout, key mask).</summary>
public unsafe class AttentionKernelEqualityTests
{
    [Theory]
    [InlineData(2, 5, 4, 2, 3, false)]
    [InlineData(3, 9, 2, 2, 8, true)]
    [InlineData(1, 1, 3, 1, 4, false)]
    [InlineData(2, 24, 4, 2, 3, true, 8)]    // window 8: query blocks of 16 rows, the second skips keys 0..8
    [InlineData(1, 40, 2, 1, 4, false, 3)]   // window 3 < the minimum block: three blocks, band of 3
    [InlineData(1, 9, 2, 2, 4, false, 20)]   // window ≥ T: plain causal
    [InlineData(3, 45, 6, 3, 40, true)] // T, hd across the 12×32 and 6×16 tiles; 18 items over 2 threads
    [InlineData(1, 100, 2, 1, 8, true)]    // T > 64 without a window: causal blocks of 32 rows (the last one partial)
    [InlineData(2, 70, 4, 2, 4, false)]    // two full blocks and a 6-row tail
    [InlineData(2, 130, 3, 1, 64, true)]   // the trainer's head size: whole 4×64 tiles, 16-column chunks, a 2-row tail block
    [InlineData(1, 50, 2, 1, 64, false, 20)] // hd 64 with a window: band blocks of 20 rows
    public void GemmKernelsEqualRowKernels(int batch, int T, int heads, int kvHeads, int hd, bool maskLast, int window = 0)
    {
        // both products of the training path: the AVX-512 tile (where the CPU has it) and the packed GEMM
        GemmKernelsEqualRowKernelsOn(batch, T, heads, kvHeads, hd, maskLast, window, packed: false);
        AttentionGemmKernels.ForcePackedGemm = true;
        try { GemmKernelsEqualRowKernelsOn(batch, T, heads, kvHeads, hd, maskLast, window, packed: true); }
        finally { AttentionGemmKernels.ForcePackedGemm = false; }
    }

    /// <summary>Separate q, k, v with dQ overwritten in a NaN-filled buffer (the op's fresh gradient) equal the row kernels' sums.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void OverwrittenDqEqualsRowKernel(bool packed)
    {
        int batch = 2, T = 100, heads = 4, kvHeads = 2, hd = 24;
        var rng = new Rng(11);
        using Tensor q = Tensor.Create(batch * T, heads * hd), k = Tensor.Create(batch * T, kvHeads * hd), v = Tensor.Create(batch * T, kvHeads * hd);
        using Tensor dOut = Tensor.Create(batch * T, heads * hd), p1 = Tensor.Create(batch, heads, T, T), p2 = Tensor.Create(batch, heads, T, T);
        using Tensor o1 = Tensor.Create(batch * T, heads * hd), o2 = Tensor.Create(batch * T, heads * hd);
        using Tensor dq1 = Tensor.Create(batch * T, heads * hd), dq2 = Tensor.Create(batch * T, heads * hd);
        using Tensor dk1 = Tensor.Create(batch * T, kvHeads * hd), dk2 = Tensor.Create(batch * T, kvHeads * hd);
        using Tensor dv1 = Tensor.Create(batch * T, kvHeads * hd), dv2 = Tensor.Create(batch * T, kvHeads * hd);
        foreach (var t in new[] { q, k, v, dOut }) rng.FillNormal(t.Span, 0, 1);
        dq2.Span.Fill(float.NaN);
        AttentionLayout L(Tensor p, Tensor o) => new()
        {
            Q = q.Pointer, K = k.Pointer, V = v.Pointer, Out = o.Pointer, Ldq = q.Cols, Ldk = k.Cols, Ldv = v.Cols,
            Batch = batch, Tq = T, Tk = T, KvRowsPerBatch = T, Heads = heads, KvHeads = kvHeads, HeadDim = hd, P = p.Pointer, Scale = 1f / MathF.Sqrt(hd),
        };
        var l1 = L(p1, o1);
        var l2 = L(p2, o2);
        AttentionKernels.Forward(l1);
        AttentionKernels.Backward(l1, dOut.Pointer, dq1.Pointer, dk1.Pointer, dv1.Pointer);
        AttentionGemmKernels.ForcePackedGemm = packed;
        try
        {
            AttentionGemmKernels.Forward(l2);
            AttentionGemmKernels.Backward(l2, dOut.Pointer, dq2.Pointer, dk2.Pointer, dv2.Pointer, overwriteDq: true);
        }
        finally { AttentionGemmKernels.ForcePackedGemm = false; }
        foreach (var (a, b, name) in new[] { (dq1, dq2, "dq"), (dk1, dk2, "dk"), (dv1, dv2, "dv") })
            for (int i = 0; i < a.Length; i++) Assert.True(MathF.Abs(a[i] - b[i]) <= 1e-5f * (1 + MathF.Abs(a[i])), $"{name}[{i}]: row {a[i]} vs gemm {b[i]}");
    }

    static void GemmKernelsEqualRowKernelsOn(int batch, int T, int heads, int kvHeads, int hd, bool maskLast, int window, bool packed)
    {
        var rng = new Rng((ulong)(batch * 100 + T));
        int w = (heads + 2 * kvHeads) * hd;
        using Tensor qkv = Tensor.Create(batch * T, w), dOut = Tensor.Create(batch * T, heads * hd), mask = Tensor.Create(batch, T);
        rng.FillNormal(qkv.Span, 0, 1);
        rng.FillNormal(dOut.Span, 0, 1);
        if (maskLast) mask[T - 1] = float.NegativeInfinity; // sequence 0's last key is padding
        using Tensor p1 = Tensor.Create(batch, heads, T, T), p2 = Tensor.Create(batch, heads, T, T);
        using Tensor o1 = Tensor.Create(batch * T, heads * hd), o2 = Tensor.Create(batch * T, heads * hd);
        using Tensor d1 = Tensor.Create(batch * T, w), d2 = Tensor.Create(batch * T, w);
        var l1 = FusedLayout(qkv, mask, p1, o1, batch, T, heads, kvHeads, hd, window);
        var l2 = FusedLayout(qkv, mask, p2, o2, batch, T, heads, kvHeads, hd, window);
        AttentionKernels.Forward(l1);
        AttentionGemmKernels.Forward(l2);
        for (int i = 0; i < o1.Length; i++) Assert.True(MathF.Abs(o1[i] - o2[i]) <= 1e-5f * (1 + MathF.Abs(o1[i])), $"out[{i}] (packed {packed}): row {o1[i]} vs gemm {o2[i]}");
        for (int i = 0; i < p1.Length; i++) Assert.True(MathF.Abs(p1[i] - p2[i]) <= 1e-6f, $"P[{i}]: row {p1[i]} vs gemm {p2[i]}");
        AttentionKernels.Backward(l1, dOut.Pointer, d1.Pointer, d1.Pointer, d1.Pointer);
        AttentionGemmKernels.Backward(l2, dOut.Pointer, d2.Pointer, d2.Pointer, d2.Pointer);
        for (int i = 0; i < d1.Length; i++) Assert.True(MathF.Abs(d1[i] - d2[i]) <= 1e-5f * (1 + MathF.Abs(d1[i])), $"d[{i}] (packed {packed}): row {d1[i]} vs gemm {d2[i]}");
    }

    /// <summary>Self-attention over fused qkv rows (q, then k, then v columns) with an additive key mask, P and output given.</summary>
    internal static unsafe AttentionLayout FusedLayout(Tensor qkv, Tensor mask, Tensor p, Tensor o, int batch, int T, int heads, int kvHeads, int hd, int window)
    {
        int w = (heads + 2 * kvHeads) * hd;
        return new()
        {
            Q = qkv.Pointer, K = qkv.Pointer, V = qkv.Pointer, Out = o.Pointer, Ldq = w, Ldk = w, Ldv = w,
            QOff = 0, KOff = heads * hd, VOff = (heads + kvHeads) * hd, Batch = batch, Tq = T, Tk = T, KvRowsPerBatch = T,
            Heads = heads, KvHeads = kvHeads, HeadDim = hd, Mask = mask.Pointer, P = p.Pointer, Scale = 1f / MathF.Sqrt(hd), Window = window,
        };
    }
}
