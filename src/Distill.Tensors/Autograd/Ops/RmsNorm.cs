using Distill.Tensors.Kernels;

namespace Distill.Tensors.Autograd.Ops;

/// <summary>RMSNorm over the last dim (HF LlamaRMSNorm). x: (…, dim), w: (dim). Slots: A = x, B = w, S0 = rstd (rows), F0 = eps.</summary>
public sealed class RmsNorm : Op
{
    static readonly RmsNorm Instance = new();
    public override string Name => nameof(RmsNorm);

    public static Tensor Forward(Tape tape, Tensor x, Tensor w, float eps = 1e-5f)
    {
        var y = tape.New(x.Shape);
        var rstd = tape.New(x.Rows);
        NormKernels.RmsNormForward(x.Span, w.Span, eps, x.Cols, y.Span, rstd.Span);
        if (tape.NeedsGrad(x, w)) tape.Record(new TapeEntry { Op = Instance, Out = y, A = x, B = w, S0 = rstd, F0 = eps });
        return y;
    }

    public override void Backward(Tape tape, in TapeEntry e)
    {
        var dx = tape.GradOf(e.A);
        var dw = tape.GradOf(e.B);
        NormKernels.RmsNormBackward(e.A!.Span, e.B!.Span, e.S0!.Span, e.Out.Grad!.Span, e.A.Cols,
            dx is null ? default : dx.Span, dw is null ? default : dw.Span);
    }
}
