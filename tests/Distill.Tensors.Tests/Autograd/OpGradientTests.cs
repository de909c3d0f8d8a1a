using Distill.Tensors.Autograd;
using Distill.Tensors.Autograd.Ops;

namespace Distill.Tensors.Tests.Autograd;

/// <summary>
/// Every op in the registry (<see cref="Op.All"/>) has a finite-difference gradient check here, and
/// <see cref="EveryOpHasAGradientCheck"/> fails when an op is added without one.
/// </summary>
public class OpGradientTests
{
    sealed class DenseProvider(Tensor w) : IWeightProvider
    {
        public int OutFeatures => w.Rows;
        public int InFeatures => w.Cols;
        public void ReadRows(int row0, int count, Span<float> dst) => w.Span.Slice(row0 * w.Cols, count * w.Cols).CopyTo(dst);
    }

    static void TensorPrimitivesScale(Tensor t, float s) => System.Numerics.Tensors.TensorPrimitives.Multiply(t.Span, s, t.Span);

    static readonly Dictionary<string, Action> Checks = new()
    {
        ["Linear"] = () =>
        {
            var rng = new Rng(11);
            Tensor x = GradCheck.Input(rng, 2, 3, 5), w = GradCheck.Input(rng, 4, 5), b = GradCheck.Input(rng, 4);
            GradCheck.Check("Linear", t => Linear.Forward(t, x, w, b), [x, w, b]);
            // provider path (frozen, dequantised per tile): 130 rows cross the 64-row tile boundary twice
            Tensor x2 = GradCheck.Input(rng, 3, 6), w2 = GradCheck.Input(rng, 130, 6), b2 = GradCheck.Input(rng, 130);
            var prov = new DenseProvider(w2);
            GradCheck.Check("Linear(provider)", t => Linear.Forward(t, x2, prov, b2), [x2, b2]);
        },
        ["LoraLinear"] = () =>
        {
            var rng = new Rng(19);
            // rank 3 over in 5 → out 4, every input trainable (a fresh adapter has B = 0; random B exercises dA too)
            Tensor x = GradCheck.Input(rng, 2, 3, 5), w = GradCheck.Input(rng, 4, 5), b = GradCheck.Input(rng, 4);
            Tensor la = GradCheck.Input(rng, 3, 5), lb = GradCheck.Input(rng, 4, 3);
            GradCheck.Check("LoraLinear", t => LoraLinear.Forward(t, x, w, b, la, lb, 0.75f), [x, w, b, la, lb]);
            // frozen provider base (QLoRA's path): 130 rows cross the 64-row tile boundary twice
            Tensor x2 = GradCheck.Input(rng, 3, 6), w2 = GradCheck.Input(rng, 130, 6), la2 = GradCheck.Input(rng, 2, 6), lb2 = GradCheck.Input(rng, 130, 2);
            GradCheck.Check("LoraLinear(provider)", t => LoraLinear.Forward(t, x2, new DenseProvider(w2), null, la2, lb2, 2f), [x2, la2, lb2]);
        },
        ["MatMul"] = () =>
        {
            var rng = new Rng(12);
            foreach (var (ta, tb) in new[] { (false, false), (true, false), (false, true), (true, true) })
            {
                Tensor a = ta ? GradCheck.Input(rng, 2, 4, 3) : GradCheck.Input(rng, 2, 3, 4);
                Tensor b = tb ? GradCheck.Input(rng, 2, 5, 4) : GradCheck.Input(rng, 2, 4, 5);
                GradCheck.Check($"MatMul({ta},{tb})", t => MatMul.Forward(t, a, b, ta, tb), [a, b]);
            }
        },
        ["Embedding"] = () =>
        {
            var rng = new Rng(13);
            var table = GradCheck.Input(rng, 7, 4);
            int[] ids = [3, 0, 3, 6, 1];
            GradCheck.Check("Embedding", t => Embedding.Forward(t, ids, table), [table]);
        },
        ["Add"] = () =>
        {
            var rng = new Rng(14);
            Tensor a = GradCheck.Input(rng, 3, 4), b = GradCheck.Input(rng, 3, 4);
            GradCheck.Check("Add", t => Add.Forward(t, a, b), [a, b]);
            GradCheck.Check("Add(a,a)", t => Add.Forward(t, a, a), [a]); // fan-out: gradient 2·dy
        },
        ["Mul"] = () =>
        {
            var rng = new Rng(15);
            Tensor a = GradCheck.Input(rng, 3, 4), b = GradCheck.Input(rng, 3, 4);
            GradCheck.Check("Mul", t => Mul.Forward(t, a, b), [a, b]);
        },
        ["Scale"] = () =>
        {
            var rng = new Rng(16);
            var a = GradCheck.Input(rng, 3, 4);
            GradCheck.Check("Scale", t => Scale.Forward(t, a, -1.75f), [a]);
        },
        ["RmsNorm"] = () =>
        {
            var rng = new Rng(17);
            Tensor x = GradCheck.Input(rng, 4, 6), w = GradCheck.Input(rng, 6);
            GradCheck.Check("RmsNorm", t => RmsNorm.Forward(t, x, w, 1e-5f), [x, w]);
        },
        ["GroupRmsNorm"] = () =>
        {
            var rng = new Rng(29);
            // per-head q/k norm: 3 rows of 2 heads × hd 4, one weight of hd (Qwen3 / Gemma 3 q_norm, k_norm)
            Tensor x = GradCheck.Input(rng, 3, 8), w = GradCheck.Input(rng, 4);
            GradCheck.Check("GroupRmsNorm(heads)", t => GroupRmsNorm.Forward(t, x, w, 1e-6f), [x, w]);
            // Gemma3RMSNorm: x · rstd · (1 + w) over the whole row, per head with the offset too
            Tensor x2 = GradCheck.Input(rng, 4, 6), w2 = GradCheck.Input(rng, 6);
            GradCheck.Check("GroupRmsNorm(1 + w)", t => GroupRmsNorm.Forward(t, x2, w2, 1e-6f, offset: 1), [x2, w2]);
            GradCheck.Check("GroupRmsNorm(heads, 1 + w)", t => GroupRmsNorm.Forward(t, x, w, 1e-6f, offset: 1), [x, w]);
        },
        ["Softcap"] = () =>
        {
            var rng = new Rng(30);
            var x = GradCheck.Input(rng, 3, 7);
            TensorPrimitivesScale(x, 3f);   // values up to ~±9: the cap 2.5 bends most of them
            GradCheck.Check("Softcap", t => Softcap.Forward(t, x, 2.5f), [x]);
            // the training path: cross-entropy overwrites the capped logits with their gradient; backward must not read them
            Tensor h = GradCheck.Input(rng, 5, 4), wl = GradCheck.Input(rng, 7, 4);
            int[] targets = [1, 6, -100, 0, 3];
            GradCheck.Check("Linear→Softcap→CrossEntropy(in place)",
                t => CrossEntropy.Forward(t, Softcap.Forward(t, Linear.Forward(t, h, wl), 1.5f), targets, overwriteLogits: true), [h, wl]);
        },
        ["LayerNorm"] = () =>
        {
            var rng = new Rng(18);
            Tensor x = GradCheck.Input(rng, 4, 6), w = GradCheck.Input(rng, 6), b = GradCheck.Input(rng, 6);
            GradCheck.Check("LayerNorm", t => LayerNorm.Forward(t, x, w, b), [x, w, b]);
        },
        ["Rope"] = () =>
        {
            var rng = new Rng(19);
            using var full = new RopeTable(headDim: 8, maxPositions: 32);
            using var partial = new RopeTable(headDim: 8, maxPositions: 32, rotaryDim: 4);
            var x = GradCheck.Input(rng, 2 * 3, 2 * 8); // batch 2, len 3, 2 heads × 8
            int[] pos = [5, 6, 7];                      // decoding at an offset
            GradCheck.Check("Rope(full)", t => Rope.Forward(t, x, 2, full, pos), [x]);
            GradCheck.Check("Rope(partial)", t => Rope.Forward(t, x, 2, partial, pos), [x]);
            // x read twice: its gradient exists when Rope's backward runs, which must then add, not overwrite
            GradCheck.Check("Rope(partial) + x", t => Add.Forward(t, Rope.Forward(t, x, 2, partial, pos), x), [x]);
            // an intermediate input (no gradient yet when Rope's backward runs): its buffer is written, not added into
            GradCheck.Check("Rope(partial)(2x)", t => Rope.Forward(t, Scale.Forward(t, x, 2f), 2, partial, pos), [x]);
        },
        ["CausalAttention"] = () =>
        {
            var rng = new Rng(20);
            // grouped-query: 4 query heads share 2 kv heads; batch 2, T 4, hd 3
            Tensor q = GradCheck.Input(rng, 8, 12), k = GradCheck.Input(rng, 8, 6), v = GradCheck.Input(rng, 8, 6);
            GradCheck.Check("CausalAttention(GQA)", t => CausalAttention.Forward(t, q, k, v, 2, 4, 2), [q, k, v]);
            // fused qkv with a key-padding mask (batch 2, T 3, 2 heads × hd 2); key 0 of sequence 1 is padding
            var qkv = GradCheck.Input(rng, 6, 12);
            var mask = Tensor.FromArray([0, 0, 0, float.NegativeInfinity, 0, 0], 2, 3);
            GradCheck.Check("CausalAttention(fused, mask)", t => CausalAttention.Forward(t, qkv, 2, 2, 2, mask), [qkv], maxCoords: 72);
            // sliding window 3 over T 20 (query blocks of 16: the second block skips keys 0..13), GQA, key mask
            Tensor qw = GradCheck.Input(rng, 40, 8), kw = GradCheck.Input(rng, 40, 4), vw = GradCheck.Input(rng, 40, 4);
            var maskW = Tensor.Create(2, 20);
            maskW[20 + 17] = float.NegativeInfinity;
            GradCheck.Check("CausalAttention(window 3)", t => CausalAttention.Forward(t, qw, kw, vw, 2, 2, 1, maskW, window: 3), [qw, kw, vw], maxCoords: 96);
            // branched rows (a shared prompt, then two answers; BranchedRows): sequence 0 = prompt 4, answers 7 and 6 (T 17);
            // sequence 1 = prompt 2, answers 5 and 9, then a padded key. With and without a window (3: a second-branch row reaches
            // back into the prompt past the first branch)
            Tensor qb = GradCheck.Input(rng, 34, 8), kb = GradCheck.Input(rng, 34, 4), vb = GradCheck.Input(rng, 34, 4);
            var branches = new BranchedRows(17, [4, 2], [7, 5], [6, 9]);
            var maskB = Tensor.Create(2, 17);
            maskB[17 + 16] = float.NegativeInfinity;
            GradCheck.Check("CausalAttention(branched)", t => CausalAttention.Forward(t, qb, kb, vb, 2, 2, 1, maskB, branches: branches), [qb, kb, vb], maxCoords: 96);
            GradCheck.Check("CausalAttention(branched, window 3)", t => CausalAttention.Forward(t, qb, kb, vb, 2, 2, 1, maskB, window: 3, branches: branches), [qb, kb, vb], maxCoords: 96);
        },
        ["SliceColumns"] = () =>
        {
            var rng = new Rng(27);
            var x = GradCheck.Input(rng, 3, 7);
            // two overlapping-free parts of one fused output, and a loss that uses both: the gradients add in x
            GradCheck.Check("SliceColumns", t => Add.Forward(t, SliceColumns.Forward(t, x, 1, 3), SliceColumns.Forward(t, x, 4, 3)), [x]);
            GradCheck.Check("SliceColumns(one part)", t => SliceColumns.Forward(t, x, 0, 2), [x]);
        },
        ["GatherRows"] = () =>
        {
            var rng = new Rng(28);
            var x = GradCheck.Input(rng, 6, 3);
            // row 4 chosen twice: its gradient is the sum of both uses; rows never chosen get none
            GradCheck.Check("GatherRows", t => GatherRows.Forward(t, x, [4, 0, 4, 5]), [x]);
        },
        ["SwiGlu"] = () =>
        {
            var rng = new Rng(21);
            Tensor g = GradCheck.Input(rng, 3, 5), u = GradCheck.Input(rng, 3, 5);
            GradCheck.Check("SwiGlu", t => SwiGlu.Forward(t, g, u), [g, u]);
            GradCheck.Check("SwiGlu(g, g)", t => SwiGlu.Forward(t, g, g), [g]);
            GradCheck.Check("SwiGlu + g", t => Add.Forward(t, SwiGlu.Forward(t, g, u), g), [g, u]);
            GradCheck.Check("SwiGlu(2g, 3u)", t => SwiGlu.Forward(t, Scale.Forward(t, g, 2f), Scale.Forward(t, u, 3f)), [g, u]);
        },
        ["Gelu"] = () =>
        {
            var rng = new Rng(22);
            var x = GradCheck.Input(rng, 3, 7);
            GradCheck.Check("Gelu(tanh)", t => Gelu.Forward(t, x, true), [x]);
            GradCheck.Check("Gelu(erf)", t => Gelu.Forward(t, x, false), [x]);
        },
        ["CrossEntropy"] = () =>
        {
            var rng = new Rng(23);
            var logits = GradCheck.Input(rng, 5, 7);
            int[] targets = [2, -100, 6, 0, 2];
            GradCheck.Check("CrossEntropy", t => CrossEntropy.Forward(t, logits, targets), [logits]);
            // the training path: dlogits overwrite the logits produced by an LM head
            Tensor x = GradCheck.Input(rng, 5, 4), w = GradCheck.Input(rng, 7, 4);
            GradCheck.Check("Linear→CrossEntropy(in place)", t => CrossEntropy.Forward(t, Linear.Forward(t, x, w), targets, overwriteLogits: true), [x, w]);
        },
    };

    /// <summary>
    /// The ops checked here. The loss ops are checked (and reported) by LossOpGradientTests' own theory; they used
    /// to appear here too, as rows that passed without running anything.
    /// </summary>
    public static TheoryData<string> OpNames() => new(Op.All.Where(n => !Distill.Tensors.Tests.Losses.LossOpGradientTests.Checks.ContainsKey(n)));

    [Fact]
    public void EveryOpHasAGradientCheck()
    {
        var missing = Op.All.Where(n => !Checks.ContainsKey(n) && !Distill.Tensors.Tests.Losses.LossOpGradientTests.Checks.ContainsKey(n)).ToList();
        Assert.True(missing.Count == 0, "ops without a gradient check: " + string.Join(", ", missing));
        Assert.True(Op.All.Count >= 13, $"registry lists only {Op.All.Count} ops");
    }

    [Theory]
    [MemberData(nameof(OpNames))]
    public void GradientMatchesFiniteDifferences(string op)
    {
        Assert.True(Checks.TryGetValue(op, out var check), $"{op} has no gradient check");
        check();
    }
}
