using Distill.Tensors.Autograd;
using Distill.Tensors.Autograd.Ops;

namespace Distill.Tensors.Tests.Autograd;

/// <summary>The fused LoRA linear equals the chain it replaces — Linear, Linear(A), Linear(B), Scale, Add — in its output and every gradient.</summary>
public class LoraLinearTests
{
    [Theory]
    [InlineData(64, 48, 40, 8, 2f)]   // the usual r = 8, α = 16
    [InlineData(37, 33, 70, 3, 0.5f)] // odd sizes: edge tiles of every GEMM
    public void FusedEqualsTheUnfusedChain(int rows, int inF, int outF, int r, float scale)
    {
        var rng = new Rng(7);
        Tensor x = GradCheck.Input(rng, rows, inF), w = GradCheck.Input(rng, outF, inF), b = GradCheck.Input(rng, outF);
        Tensor a = GradCheck.Input(rng, r, inF), lb = GradCheck.Input(rng, outF, r);
        var dy = new float[rows * outF];
        rng.FillNormal(dy, 0, 1);
        Tensor[] inputs = [x, w, b, a, lb];

        float[][] Run(Func<Tape, Tensor> forward, out float[] y)
        {
            foreach (var t in inputs) t.Grad!.Span.Clear();
            using var tape = new Tape();
            var output = forward(tape);
            y = output.Span.ToArray();
            tape.Backward(output, dy);
            return inputs.Select(t => t.Grad!.Span.ToArray()).ToArray();
        }

        var fused = Run(t => LoraLinear.Forward(t, x, w, b, a, lb, scale), out var yFused);
        var chain = Run(t => Add.Forward(t, Linear.Forward(t, x, w, b), Scale.Forward(t, Linear.Forward(t, Linear.Forward(t, x, a), lb), scale)), out var yChain);

        AssertClose("y", yChain, yFused);
        string[] names = ["dx", "dW", "db", "dA", "dB"];
        for (int i = 0; i < names.Length; i++) AssertClose(names[i], chain[i], fused[i]);
    }

    static void AssertClose(string what, float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        // Same products summed in a different order (β = 1 accumulation instead of a separate add): float32 rounding only.
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-4f * (1 + Math.Abs(expected[i])), $"{what}[{i}]: chain {expected[i]} vs fused {actual[i]}");
    }

    [Fact]
    public void MismatchedAdapterShapesAreRefusedWithTheirShapes()
    {
        var rng = new Rng(3);
        Tensor x = GradCheck.Input(rng, 4, 6), w = GradCheck.Input(rng, 5, 6), a = GradCheck.Input(rng, 2, 6), lb = GradCheck.Input(rng, 5, 3);
        using var tape = new Tape();
        var e = Assert.Throws<ArgumentException>(() => LoraLinear.Forward(tape, x, w, null, a, lb, 1f));
        Assert.Contains("B (5, 3)", e.Message);
    }
}
