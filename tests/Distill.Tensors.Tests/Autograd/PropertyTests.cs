using Distill.Tensors.Autograd;
using Distill.Tensors.Autograd.Ops;

namespace Distill.Tensors.Tests.Autograd;

/// <summary>Gradient checks on shapes drawn from a seeded RNG (tails, odd sizes, one-row inputs), 6 draws per op.</summary>
public class PropertyTests
{
    const int Draws = 6;

    [Fact]
    public void LinearAndMatMulOnRandomShapes()
    {
        var rng = new Rng(101);
        for (int d = 0; d < Draws; d++)
        {
            int rows = 1 + rng.NextInt(9), inF = 1 + rng.NextInt(19), outF = 1 + rng.NextInt(13);
            Tensor x = GradCheck.Input(rng, rows, inF), w = GradCheck.Input(rng, outF, inF), b = GradCheck.Input(rng, outF);
            GradCheck.Check($"Linear {rows}×{inF}→{outF}", t => Linear.Forward(t, x, w, b), [x, w, b], seed: d, maxCoords: 12);
            int batch = 1 + rng.NextInt(3), m = 1 + rng.NextInt(6), k = 1 + rng.NextInt(6), n = 1 + rng.NextInt(6);
            bool ta = rng.NextInt(2) == 1, tb = rng.NextInt(2) == 1;
            Tensor a = ta ? GradCheck.Input(rng, batch, k, m) : GradCheck.Input(rng, batch, m, k);
            Tensor bb = tb ? GradCheck.Input(rng, batch, n, k) : GradCheck.Input(rng, batch, k, n);
            GradCheck.Check($"MatMul b{batch} {m}×{k}×{n} tA={ta} tB={tb}", t => MatMul.Forward(t, a, bb, ta, tb), [a, bb], seed: d, maxCoords: 12);
        }
    }

    [Fact]
    public void NormsOnRandomShapes()
    {
        var rng = new Rng(102);
        for (int d = 0; d < Draws; d++)
        {
            int rows = 1 + rng.NextInt(6), dim = 1 + rng.NextInt(33);
            Tensor x = GradCheck.Input(rng, rows, dim), w = GradCheck.Input(rng, dim), b = GradCheck.Input(rng, dim);
            GradCheck.Check($"RmsNorm {rows}×{dim}", t => RmsNorm.Forward(t, x, w), [x, w], seed: d, maxCoords: 12);
            if (dim > 1) GradCheck.Check($"LayerNorm {rows}×{dim}", t => LayerNorm.Forward(t, x, w, b), [x, w, b], seed: d, maxCoords: 12);
        }
    }

    [Fact]
    public void AttentionAndRopeOnRandomShapes()
    {
        var rng = new Rng(103);
        for (int d = 0; d < Draws; d++)
        {
            int batch = 1 + rng.NextInt(2), T = 1 + rng.NextInt(6), kvHeads = 1 + rng.NextInt(2), group = 1 + rng.NextInt(3), hd = 2 * (1 + rng.NextInt(3));
            int heads = kvHeads * group;
            Tensor q = GradCheck.Input(rng, batch * T, heads * hd), k = GradCheck.Input(rng, batch * T, kvHeads * hd), v = GradCheck.Input(rng, batch * T, kvHeads * hd);
            GradCheck.Check($"Attention b{batch} T{T} h{heads}/{kvHeads} hd{hd}", t => CausalAttention.Forward(t, q, k, v, batch, heads, kvHeads), [q, k, v], seed: d, maxCoords: 12);
            int rot = 2 * (1 + rng.NextInt(hd / 2));
            using var table = new RopeTable(hd, 64, rot);
            int[] pos = Enumerable.Range(rng.NextInt(50), T).ToArray();
            GradCheck.Check($"Rope T{T} hd{hd} rot{rot}", t => Rope.Forward(t, q, heads, table, pos), [q], seed: d, maxCoords: 12);
        }
    }
}
