using Distill.Tensors.Kernels;

namespace Distill.Tensors.Autograd.Ops;

/// <summary>GELU, exact (erf; torch's default) or tanh ("gelu_new", GPT-2). Slots: A = x, I0 = 1 for tanh.</summary>
public sealed class Gelu : Op
{
    static readonly Gelu Instance = new();
    public override string Name => nameof(Gelu);

    public static Tensor Forward(Tape tape, Tensor x, bool tanhApprox)
    {
        var y = tape.New(x.Shape);
        ActivationKernels.GeluForward(x.Span, tanhApprox, y.Span);
        if (tape.NeedsGrad(x)) tape.Record(new TapeEntry { Op = Instance, Out = y, A = x, I0 = tanhApprox ? 1 : 0 });
        return y;
    }

    public override void Backward(Tape tape, in TapeEntry e)
    {
        var dx = tape.GradOf(e.A);
        if (dx is not null) ActivationKernels.GeluBackward(e.A!.Span, e.Out.Grad!.Span, e.I0 == 1, dx.Span);
    }
}
