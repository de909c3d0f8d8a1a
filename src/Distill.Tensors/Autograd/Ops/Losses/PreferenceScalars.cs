using Distill.Tensors.Kernels.Losses;

namespace Distill.Tensors.Autograd.Ops.Losses;

// Element-wise scalar ops that preference losses are built from, as tape ops over any shape
// (kernel: PreferenceScalarKernels). Slots: A = x. Backward adds into dx.

/// <summary>y = log σ(x), stable (DPO, Rafailov et al. 2023 Eq. 7). dx += dy · σ(−x).</summary>
public sealed class LogSigmoid : Op
{
    static readonly LogSigmoid Instance = new();
    public override string Name => nameof(LogSigmoid);

    public static Tensor Forward(Tape tape, Tensor x)
    {
        var y = tape.New(x.Shape);
        PreferenceScalarKernels.LogSigmoidForward(x.Span, y.Span);
        if (tape.NeedsGrad(x)) tape.Record(new TapeEntry { Op = Instance, Out = y, A = x });
        return y;
    }

    public override void Backward(Tape tape, in TapeEntry e)
    {
        var dx = tape.GradOf(e.A);
        if (dx is not null) PreferenceScalarKernels.LogSigmoidBackward(e.A!.Span, e.Out.Grad!.Span, dx.Span);
    }
}

/// <summary>y = max(0, x) (SLiC hinge, PLaD). dx += dy where x &gt; 0.</summary>
public sealed class Hinge : Op
{
    static readonly Hinge Instance = new();
    public override string Name => nameof(Hinge);

    public static Tensor Forward(Tape tape, Tensor x)
    {
        var y = tape.New(x.Shape);
        PreferenceScalarKernels.HingeForward(x.Span, y.Span);
        if (tape.NeedsGrad(x)) tape.Record(new TapeEntry { Op = Instance, Out = y, A = x });
        return y;
    }

    public override void Backward(Tape tape, in TapeEntry e)
    {
        var dx = tape.GradOf(e.A);
        if (dx is not null) PreferenceScalarKernels.HingeBackward(e.A!.Span, e.Out.Grad!.Span, dx.Span);
    }
}

/// <summary>y = x² (IPO). dx += 2x · dy.</summary>
public sealed class Square : Op
{
    static readonly Square Instance = new();
    public override string Name => nameof(Square);

    public static Tensor Forward(Tape tape, Tensor x)
    {
        var y = tape.New(x.Shape);
        PreferenceScalarKernels.SquareForward(x.Span, y.Span);
        if (tape.NeedsGrad(x)) tape.Record(new TapeEntry { Op = Instance, Out = y, A = x });
        return y;
    }

    public override void Backward(Tape tape, in TapeEntry e)
    {
        var dx = tape.GradOf(e.A);
        if (dx is not null) PreferenceScalarKernels.SquareBackward(e.A!.Span, e.Out.Grad!.Span, dx.Span);
    }
}
