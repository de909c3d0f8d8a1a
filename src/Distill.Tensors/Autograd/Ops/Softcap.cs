using System.Numerics.Tensors;

namespace Distill.Tensors.Autograd.Ops;

/// <summary>
/// Logit soft-capping, y = c · tanh(x / c) (Gemma 2 and 3: <c>logits = tanh(logits / final_logit_softcapping) * final_logit_softcapping</c>
/// in Gemma3ForCausalLM.forward). Backward: dx += dy · (1 − tanh²(x / c)), recomputed from x: the training path's
/// cross-entropy may overwrite these logits with their gradient (CrossEntropy's overwriteLogits). Slots: A = x, F0 = c.
/// </summary>
public sealed class Softcap : Op
{
    static readonly Softcap Instance = new();
    public override string Name => nameof(Softcap);

    public static Tensor Forward(Tape tape, Tensor x, float cap)
    {
        if (!(cap > 0)) throw new ArgumentException($"Softcap: the cap must be positive, got {cap}");
        var y = tape.New(x.Shape);
        TensorPrimitives.Divide(x.Span, cap, y.Span);
        TensorPrimitives.Tanh(y.Span, y.Span);
        TensorPrimitives.Multiply(y.Span, cap, y.Span);
        if (tape.NeedsGrad(x)) tape.Record(new TapeEntry { Op = Instance, Out = y, A = x, F0 = cap });
        return y;
    }

    public override void Backward(Tape tape, in TapeEntry e)
    {
        var dx = tape.GradOf(e.A);
        if (dx is null) return;
        var x = e.A!.Span;
        var dy = e.Out.Grad!.Span;
        var d = dx.Span;
        float cap = e.F0;
        for (int i = 0; i < d.Length; i++)
        {
            float t = MathF.Tanh(x[i] / cap);
            d[i] += dy[i] * (1 - t * t);
        }
    }
}
