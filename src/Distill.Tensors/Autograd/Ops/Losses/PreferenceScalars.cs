using Distill.Tensors.Kernels.Losses;

namespace Distill.Tensors.Autograd.Ops.Losses;

/// <summary>
/// An element-wise op y = f(x) over any shape whose backward reads x: the shared Forward/Backward of
/// the preference scalar ops below (kernel: PreferenceScalarKernels). Slots: A = x. Backward adds into dx.
/// Abstract, so the op registry lists only the concrete ops.
/// </summary>
public abstract class ElementwiseLossOp : Op
{
    protected abstract void Kernel(ReadOnlySpan<float> x, Span<float> y);
    protected abstract void KernelBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> dy, Span<float> dx);

    protected Tensor Apply(Tape tape, Tensor x)
    {
        var y = tape.New(x.Shape);
        Kernel(x.Span, y.Span);
        if (tape.NeedsGrad(x)) tape.Record(new TapeEntry { Op = this, Out = y, A = x });
        return y;
    }

    public override void Backward(Tape tape, in TapeEntry e)
    {
        var dx = tape.GradOf(e.A);
        if (dx is not null) KernelBackward(e.A!.Span, e.Out.Grad!.Span, dx.Span);
    }
}

/// <summary>y = log σ(x), stable (DPO, Rafailov et al. 2023 Eq. 7). dx += dy · σ(−x).</summary>
public sealed class LogSigmoid : ElementwiseLossOp
{
    static readonly LogSigmoid Instance = new();
    public override string Name => nameof(LogSigmoid);
    public static Tensor Forward(Tape tape, Tensor x) => Instance.Apply(tape, x);
    protected override void Kernel(ReadOnlySpan<float> x, Span<float> y) => PreferenceScalarKernels.LogSigmoidForward(x, y);
    protected override void KernelBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> dy, Span<float> dx) => PreferenceScalarKernels.LogSigmoidBackward(x, dy, dx);
}

/// <summary>y = max(0, x) (SLiC hinge, PLaD). dx += dy where x &gt; 0.</summary>
public sealed class Hinge : ElementwiseLossOp
{
    static readonly Hinge Instance = new();
    public override string Name => nameof(Hinge);
    public static Tensor Forward(Tape tape, Tensor x) => Instance.Apply(tape, x);
    protected override void Kernel(ReadOnlySpan<float> x, Span<float> y) => PreferenceScalarKernels.HingeForward(x, y);
    protected override void KernelBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> dy, Span<float> dx) => PreferenceScalarKernels.HingeBackward(x, dy, dx);
}

/// <summary>y = x² (IPO). dx += 2x · dy.</summary>
public sealed class Square : ElementwiseLossOp
{
    static readonly Square Instance = new();
    public override string Name => nameof(Square);
    public static Tensor Forward(Tape tape, Tensor x) => Instance.Apply(tape, x);
    protected override void Kernel(ReadOnlySpan<float> x, Span<float> y) => PreferenceScalarKernels.SquareForward(x, y);
    protected override void KernelBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> dy, Span<float> dx) => PreferenceScalarKernels.SquareBackward(x, dy, dx);
}
