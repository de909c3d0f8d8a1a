using Distill.Tensors.Kernels;

namespace Distill.Tensors.Autograd.Ops;

/// <summary>LayerNorm over the last dim (torch.nn.LayerNorm). x: (…, dim), w, b: (dim). Slots: A = x, B = w, C = b, S0 = mean, S1 = rstd.</summary>
public sealed class LayerNorm : Op
{
    static readonly LayerNorm Instance = new();
    public override string Name => nameof(LayerNorm);

    public static Tensor Forward(Tape tape, Tensor x, Tensor w, Tensor b, float eps = 1e-5f)
    {
        var y = tape.New(x.Shape);
        var mean = tape.New(x.Rows);
        var rstd = tape.New(x.Rows);
        NormKernels.LayerNormForward(x.Span, w.Span, b.Span, eps, x.Cols, y.Span, mean.Span, rstd.Span);
        if (tape.NeedsGrad(x, w, b)) tape.Record(new TapeEntry { Op = Instance, Out = y, A = x, B = w, C = b, S0 = mean, S1 = rstd });
        return y;
    }

    public override void Backward(Tape tape, in TapeEntry e)
    {
        var dx = tape.GradOf(e.A);
        var dw = tape.GradOf(e.B);
        var db = tape.GradOf(e.C);
        NormKernels.LayerNormBackward(e.A!.Span, e.B!.Span, e.S0!.Span, e.S1!.Span, e.Out.Grad!.Span, e.A.Cols,
            dx is null ? default : dx.Span, dw is null ? default : dw.Span, db is null ? default : db.Span);
    }
}
