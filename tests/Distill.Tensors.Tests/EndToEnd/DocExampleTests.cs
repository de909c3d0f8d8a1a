using Distill.Tensors.Autograd;
using Distill.Tensors.Autograd.Ops;
using Distill.Tensors.Optim;

namespace Distill.Tensors.Tests.EndToEnd;

/// <summary>The example of docs/engine.md, verbatim apart from the assertions: it must compile and learn.</summary>
public class DocExampleTests
{
    [Fact]
    public void EngineDocExampleTrains()
    {
        var rng = new Rng(42);
        var w1 = new Parameter("fc1.weight", 64, 16); rng.FillNormal(w1.Span, 0, 0.1f);   // (out, in) as nn.Linear
        var b1 = new Parameter("fc1.bias", 64);
        var w2 = new Parameter("fc2.weight", 10, 64); rng.FillNormal(w2.Span, 0, 0.1f);
        Parameter[] ps = [w1, b1, w2];
        using var opt = new AdamW(ps, lr: 1e-3f, weightDecay: 0.01f);
        using var tape = new Tape();
        using var x = Tensor.Create(32, 16); rng.FillNormal(x.Span, 0, 1);                // (batch, features)
        int[] labels = Enumerable.Range(0, 32).Select(i => i % 10).ToArray();
        float first = 0, last = 0;
        for (int step = 0; step < 100; step++)
        {
            tape.Reset();                                                                  // rewinds the arena: no allocation
            var h = Gelu.Forward(tape, Linear.Forward(tape, x, w1, b1), tanhApprox: false); // (32, 64)
            var logits = Linear.Forward(tape, h, w2);                                      // (32, 10)
            var loss = CrossEntropy.Forward(tape, logits, labels, overwriteLogits: true);  // (1)
            if (step == 0) first = loss[0];
            last = loss[0];
            tape.Backward(loss);                                                           // grads land in w1.Grad, b1.Grad, w2.Grad
            GradClip.ClipGlobalNorm(ps, 1.0f);
            opt.Step();
            opt.ZeroGrad();
        }
        Assert.InRange(first, 2.0f, 2.6f);   // ≈ ln 10 with small weights
        Assert.True(last < 0.5f * first, $"loss {first} → {last}");
    }
}
