using Distill.Tensors.Autograd;
using Distill.Tensors.Autograd.Ops;
using Distill.Tensors.Kernels;

namespace Distill.Tensors.Tests.Autograd;

/// <summary>
/// Attention on branched rows (<see cref="BranchedRows"/>: [prompt | chosen | rejected] in one row) equals attention on
/// the two separate sequences [prompt | chosen] and [prompt | rejected]: every output row, and the gradients of q, k and
/// v, the shared prompt rows receiving the sum of both sequences' gradients. With windows the distance is between
/// positions, so a second-branch row may reach further left than the first-branch row above it.
/// </summary>
public class BranchedAttentionTests
{
    const int Heads = 4, KvHeads = 2, Hd = 8;

    sealed record Pair(int P, int C, int R);

    /// <summary>q, k, v and dOut of one separate sequence of n rows, as arrays (rows × cols).</summary>
    sealed record Seq(float[] Q, float[] K, float[] V, float[] DOut, int N);

    // Ragged pairs in one batch: prompts 1..9, answers 0..11, windows none, shorter than a branch, longer than a prompt.
    [Theory]
    [InlineData(0, false)]
    [InlineData(0, true)]
    [InlineData(3, false)]
    [InlineData(5, true)]
    [InlineData(11, false)]
    public void BranchedRowsEqualTheSeparateSequences(int window, bool packed)
    {
        Pair[] pairs = [new(5, 7, 3), new(1, 4, 11), new(9, 0, 6), new(3, 12, 12)];
        AttentionGemmKernels.ForcePackedGemm = packed;
        try { Check(pairs, window); }
        finally { AttentionGemmKernels.ForcePackedGemm = false; }
    }

    // Long enough that the blocked kernels split the rows into query blocks of 32, with a block straddling both branches.
    [Theory]
    [InlineData(0)]
    [InlineData(20)]
    public void LongBranchedRowsEqualTheSeparateSequences(int window) => Check([new(50, 30, 25), new(20, 41, 9)], window);

    static void Check(Pair[] pairs, int window)
    {
        var rng = new Rng((ulong)(7 + window));
        int qc = Heads * Hd, kc = KvHeads * Hd, B = pairs.Length;
        float[] Fill(int n) { var a = new float[n]; rng.FillNormal(a, 0, 1); return a; }
        // per pair: the prompt's q, k, v (shared), then each answer's own; dOut per separate sequence
        var chosen = new Seq[B];
        var rejected = new Seq[B];
        for (int b = 0; b < B; b++)
        {
            var (p, c, r) = pairs[b];
            float[] pq = Fill(p * qc), pk = Fill(p * kc), pv = Fill(p * kc);
            Seq Make(int n) => new([.. pq, .. Fill(n * qc)], [.. pk, .. Fill(n * kc)], [.. pv, .. Fill(n * kc)], Fill((p + n) * qc), p + n);
            chosen[b] = Make(c);
            rejected[b] = Make(r);
        }
        // separate: each sequence alone (batch 1)
        var sep = new (float[] O, float[] Dq, float[] Dk, float[] Dv)[2 * B];
        for (int s = 0; s < 2 * B; s++)
        {
            var x = s < B ? chosen[s] : rejected[s - B];
            sep[s] = Run(x.Q, x.K, x.V, x.DOut, x.N, 1, null, null, window);
        }
        // branched: row b = [prompt | chosen | rejected | padding]
        int T = pairs.Max(x => x.P + x.C + x.R);
        var branches = new BranchedRows(T, pairs.Select(x => x.P).ToArray(), pairs.Select(x => x.C).ToArray(), pairs.Select(x => x.R).ToArray());
        float[] q = Fill(B * T * qc), k = Fill(B * T * kc), v = Fill(B * T * kc), dOut = new float[B * T * qc], mask = new float[B * T];
        for (int b = 0; b < B; b++)
        {
            var (p, c, r) = pairs[b];
            Array.Fill(mask, float.NegativeInfinity, b * T + p + c + r, T - p - c - r);
            Copy(chosen[b].Q, 0, q, b * T, p + c, qc);
            Copy(rejected[b].Q, p, q, b * T + p + c, r, qc);
            Copy(chosen[b].K, 0, k, b * T, p + c, kc);
            Copy(rejected[b].K, p, k, b * T + p + c, r, kc);
            Copy(chosen[b].V, 0, v, b * T, p + c, kc);
            Copy(rejected[b].V, p, v, b * T + p + c, r, kc);
            // the prompt rows' output feeds both sequences: its upstream gradient is the sum of theirs
            for (int i = 0; i < p * qc; i++) dOut[b * T * qc + i] = chosen[b].DOut[i] + rejected[b].DOut[i];
            Copy(chosen[b].DOut, p, dOut, b * T + p, c, qc);
            Copy(rejected[b].DOut, p, dOut, b * T + p + c, r, qc);
        }
        var (o, dq, dk, dv) = Run(q, k, v, dOut, T, B, mask, branches, window);
        for (int b = 0; b < B; b++)
        {
            var (p, c, r) = pairs[b];
            var (sc, sr) = (sep[b], sep[B + b]);
            string at = $"pair {b} ({p}+{c}+{r}), window {window}";
            Same(at + " out prompt (chosen)", sc.O, 0, o, b * T, p, qc);
            Same(at + " out prompt (rejected)", sr.O, 0, o, b * T, p, qc);
            Same(at + " out chosen", sc.O, p, o, b * T + p, c, qc);
            Same(at + " out rejected", sr.O, p, o, b * T + p + c, r, qc);
            foreach (var (name, a, cs, rs, cols) in new[] { ("dq", dq, sc.Dq, sr.Dq, qc), ("dk", dk, sc.Dk, sr.Dk, kc), ("dv", dv, sc.Dv, sr.Dv, kc) })
            {
                var sum = new float[p * cols];
                for (int i = 0; i < sum.Length; i++) sum[i] = cs[i] + rs[i];
                Same($"{at} {name} prompt (sum of both)", sum, 0, a, b * T, p, cols);
                Same($"{at} {name} chosen", cs, p, a, b * T + p, c, cols);
                Same($"{at} {name} rejected", rs, p, a, b * T + p + c, r, cols);
            }
        }
    }

    /// <summary>Forward and backward through the op on a tape: output and the gradients of q, k, v for upstream gradient dOut.</summary>
    static (float[] O, float[] Dq, float[] Dk, float[] Dv) Run(float[] q, float[] k, float[] v, float[] dOut, int T, int batch, float[]? mask, BranchedRows? branches, int window)
    {
        using Parameter pq = new("q", batch * T, Heads * Hd), pk = new("k", batch * T, KvHeads * Hd), pv = new("v", batch * T, KvHeads * Hd);
        q.CopyTo(pq.Span); k.CopyTo(pk.Span); v.CopyTo(pv.Span);
        using var m = mask is null ? null : Tensor.FromArray(mask, batch, T);
        using var tape = new Tape();
        var o = CausalAttention.Forward(tape, pq.Value, pk.Value, pv.Value, batch, Heads, KvHeads, m, window, branches);
        var outArr = o.Span.ToArray();
        tape.Backward(o, dOut);
        return (outArr, pq.Grad!.Span.ToArray(), pk.Grad!.Span.ToArray(), pv.Grad!.Span.ToArray());
    }

    static void Copy(float[] src, int srcRow, float[] dst, int dstRow, int rows, int cols)
        => Array.Copy(src, srcRow * cols, dst, dstRow * cols, rows * cols);

    static void Same(string what, float[] expected, int eRow, float[] actual, int aRow, int rows, int cols)
    {
        for (int i = 0; i < rows * cols; i++)
        {
            float e = expected[eRow * cols + i], a = actual[aRow * cols + i];
            Assert.True(MathF.Abs(e - a) <= 2e-5f * (1 + MathF.Abs(e)), $"{what}: row {i / cols} col {i % cols}: separate {e} vs branched {a}");
        }
    }

    // The kernels themselves, side by side on a branched layout: the GEMM path (tile and packed) equals the row kernel,
    // forward (P and out) and backward, fused qkv with a padded key, with and without a window.
    [Theory]
    [InlineData(0, false)]
    [InlineData(0, true)]
    [InlineData(4, false)]
    [InlineData(9, true)]
    public unsafe void GemmKernelsEqualRowKernelsOnBranchedRows(int window, bool packed)
    {
        int batch = 3, T = 80, heads = 4, kvHeads = 2, hd = 16, w = (heads + 2 * kvHeads) * hd;
        var branches = new BranchedRows(T, [20, 1, 35], [30, 45, 0], [29, 30, 44]);
        var rng = new Rng(5);
        using Tensor qkv = Tensor.Create(batch * T, w), dOut = Tensor.Create(batch * T, heads * hd), mask = Tensor.Create(batch, T);
        rng.FillNormal(qkv.Span, 0, 1);
        rng.FillNormal(dOut.Span, 0, 1);
        mask[T - 1] = float.NegativeInfinity; // row 0's last key is padding (20 + 30 + 29 = 79 tokens)
        using Tensor p1 = Tensor.Create(batch, heads, T, T), p2 = Tensor.Create(batch, heads, T, T);
        using Tensor o1 = Tensor.Create(batch * T, heads * hd), o2 = Tensor.Create(batch * T, heads * hd);
        using Tensor d1 = Tensor.Create(batch * T, w), d2 = Tensor.Create(batch * T, w);
        fixed (int* bounds = branches.Bounds)
        {
            var l1 = AttentionKernelEqualityTests.FusedLayout(qkv, mask, p1, o1, batch, T, heads, kvHeads, hd, window);
            var l2 = AttentionKernelEqualityTests.FusedLayout(qkv, mask, p2, o2, batch, T, heads, kvHeads, hd, window);
            l1.Branches = l2.Branches = bounds;
            AttentionKernels.Forward(l1);
            AttentionKernels.Backward(l1, dOut.Pointer, d1.Pointer, d1.Pointer, d1.Pointer);
            AttentionGemmKernels.ForcePackedGemm = packed;
            try
            {
                AttentionGemmKernels.Forward(l2);
                AttentionGemmKernels.Backward(l2, dOut.Pointer, d2.Pointer, d2.Pointer, d2.Pointer);
            }
            finally { AttentionGemmKernels.ForcePackedGemm = false; }
        }
        for (int i = 0; i < p1.Length; i++) Assert.True(MathF.Abs(p1[i] - p2[i]) <= 1e-6f, $"P[{i}]: row {p1[i]} vs gemm {p2[i]}");
        for (int i = 0; i < o1.Length; i++) Assert.True(MathF.Abs(o1[i] - o2[i]) <= 1e-5f * (1 + MathF.Abs(o1[i])), $"out[{i}]: row {o1[i]} vs gemm {o2[i]}");
        for (int i = 0; i < d1.Length; i++) Assert.True(MathF.Abs(d1[i] - d2[i]) <= 1e-5f * (1 + MathF.Abs(d1[i])), $"d[{i}]: row {d1[i]} vs gemm {d2[i]}");
        // the branches matter: row 0's first rejected query (index 50, position 20) gives no weight to chosen keys 20..49
        for (int h = 0; h < heads; h++)
            for (int j = 20; j < 50; j++) Assert.Equal(0f, p2[(h * T + 50) * T + j]);
        Assert.True(p2[50 * T + 19] > 0);
    }

    [Fact]
    public void BranchedRowsGivePositionsAndRefuseBadLengths()
    {
        var br = new BranchedRows(10, [3, 4], [2, 0], [4, 3]);
        // row 0: prompt 0..2, chosen at 3..4, rejected again at 3..6, padding clamped to the last real position (6)
        Assert.Equal(new[] { 0, 1, 2, 3, 4, 3, 4, 5, 6, 6 }, br.Positions[..10]);
        // row 1: no first branch: a plain sequence of 7
        Assert.Equal(new[] { 0, 1, 2, 3, 4, 5, 6, 6, 6, 6 }, br.Positions[10..]);
        Assert.Equal(6, br.MaxPosition);
        Assert.Equal(new[] { 3, 5, 4, 4 }, br.Bounds);
        Assert.Throws<ArgumentException>(() => new BranchedRows(5, [3], [2], [1]));    // 6 tokens in a row of 5
        Assert.Throws<ArgumentException>(() => new BranchedRows(5, [3], [2], []));     // lengths missing
        Assert.Throws<ArgumentException>(() => new BranchedRows(5, [-1], [2], [1]));
        using var tape = new Tape { NoGrad = true };
        using Tensor q = Tensor.Create(10, 8), k = Tensor.Create(10, 8);
        var e = Assert.Throws<ArgumentException>(() => CausalAttention.Forward(tape, q, k, k, 1, 2, 2, branches: br));
        Assert.Contains("branched rows", e.Message);
    }
}
