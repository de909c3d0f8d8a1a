using Distill.Tensors.Kernels.Losses;

namespace Distill.Tensors.Autograd.Ops.Losses;

/// <summary>
/// Softmax or log-softmax over the last dimension with temperature τ (kernel: SoftmaxKernels). Both
/// backwards read only the output y. Slots: A = x, F0 = τ. Abstract: the registry lists the two concrete ops.
/// </summary>
public abstract class SoftmaxOpBase(bool log) : Op
{
    protected Tensor Apply(Tape tape, Tensor x, float temperature)
    {
        var y = tape.New(x.Shape);
        if (log) SoftmaxKernels.LogSoftmaxForward(x.Span, x.Cols, temperature, y.Span);
        else SoftmaxKernels.SoftmaxForward(x.Span, x.Cols, temperature, y.Span);
        if (tape.NeedsGrad(x)) tape.Record(new TapeEntry { Op = this, Out = y, A = x, F0 = temperature });
        return y;
    }

    public override void Backward(Tape tape, in TapeEntry e)
    {
        var dx = tape.GradOf(e.A);
        if (dx is null) return;
        if (log) SoftmaxKernels.LogSoftmaxBackward(e.Out.Span, e.Out.Grad!.Span, e.Out.Cols, e.F0, dx.Span);
        else SoftmaxKernels.SoftmaxBackward(e.Out.Span, e.Out.Grad!.Span, e.Out.Cols, e.F0, dx.Span);
    }
}

/// <summary>y = softmax(x/τ) over the last dimension. dx += (1/τ)·y ⊙ (dy − Σ dy·y).</summary>
public sealed class Softmax() : SoftmaxOpBase(log: false)
{
    static readonly Softmax Instance = new();
    public override string Name => nameof(Softmax);
    public static Tensor Forward(Tape tape, Tensor x, float temperature = 1f) => Instance.Apply(tape, x, temperature);
}

/// <summary>y = log softmax(x/τ) over the last dimension. dx += (1/τ)·(dy − exp(y)·Σ dy).</summary>
public sealed class LogSoftmax() : SoftmaxOpBase(log: true)
{
    static readonly LogSoftmax Instance = new();
    public override string Name => nameof(LogSoftmax);
    public static Tensor Forward(Tape tape, Tensor x, float temperature = 1f) => Instance.Apply(tape, x, temperature);
}
