using System.Numerics.Tensors;

namespace Distill.Tensors.Autograd.Ops;

/// <summary>y = s · x for a constant s (e.g. LoRA's alpha/r). Backward: dx += s · dy. Slots: A, F0 = s.</summary>
public sealed class Scale : Op
{
    static readonly Scale Instance = new();
    public override string Name => nameof(Scale);

    public static Tensor Forward(Tape tape, Tensor x, float s)
    {
        var y = tape.New(x.Shape);
        TensorPrimitives.Multiply(x.Span, s, y.Span);
        if (tape.NeedsGrad(x)) tape.Record(new TapeEntry { Op = Instance, Out = y, A = x, F0 = s });
        return y;
    }

    public override void Backward(Tape tape, in TapeEntry e)
    {
        var dx = tape.GradOf(e.A);
        if (dx is not null) TensorPrimitives.MultiplyAdd(e.Out.Grad!.Span, e.F0, dx.Span, dx.Span);
    }
}
