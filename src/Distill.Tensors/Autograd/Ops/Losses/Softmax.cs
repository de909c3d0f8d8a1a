using Distill.Tensors.Kernels.Losses;

namespace Distill.Tensors.Autograd.Ops.Losses;

// Softmax and log-softmax over the last dimension with temperature τ, as tape ops (kernel: SoftmaxKernels).
// Both backwards read only the output y. Slots: A = x, F0 = τ.

/// <summary>y = softmax(x/τ) over the last dimension. dx += (1/τ)·y ⊙ (dy − Σ dy·y).</summary>
public sealed class Softmax : Op
{
    static readonly Softmax Instance = new();
    public override string Name => nameof(Softmax);

    public static Tensor Forward(Tape tape, Tensor x, float temperature = 1f)
    {
        var y = tape.New(x.Shape);
        SoftmaxKernels.SoftmaxForward(x.Span, x.Cols, temperature, y.Span);
        if (tape.NeedsGrad(x)) tape.Record(new TapeEntry { Op = Instance, Out = y, A = x, F0 = temperature });
        return y;
    }

    public override void Backward(Tape tape, in TapeEntry e)
    {
        var dx = tape.GradOf(e.A);
        if (dx is not null) SoftmaxKernels.SoftmaxBackward(e.Out.Span, e.Out.Grad!.Span, e.Out.Cols, e.F0, dx.Span);
    }
}

/// <summary>y = log softmax(x/τ) over the last dimension. dx += (1/τ)·(dy − exp(y)·Σ dy).</summary>
public sealed class LogSoftmax : Op
{
    static readonly LogSoftmax Instance = new();
    public override string Name => nameof(LogSoftmax);

    public static Tensor Forward(Tape tape, Tensor x, float temperature = 1f)
    {
        var y = tape.New(x.Shape);
        SoftmaxKernels.LogSoftmaxForward(x.Span, x.Cols, temperature, y.Span);
        if (tape.NeedsGrad(x)) tape.Record(new TapeEntry { Op = Instance, Out = y, A = x, F0 = temperature });
        return y;
    }

    public override void Backward(Tape tape, in TapeEntry e)
    {
        var dx = tape.GradOf(e.A);
        if (dx is not null) SoftmaxKernels.LogSoftmaxBackward(e.Out.Span, e.Out.Grad!.Span, e.Out.Cols, e.F0, dx.Span);
    }
}
