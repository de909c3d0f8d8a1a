using System.Numerics.Tensors;
using Distill.Tensors.Kernels;

namespace Distill.Tensors.Autograd.Ops;

/// <summary>
/// RMSNorm over each group of w.Length consecutive features, scaled by (offset + w):
/// y = x · rstd · (offset + w), rstd = 1/√(mean(x²) + eps) per group. Two uses:
/// <list type="bullet">
/// <item>per-head q/k norms (Qwen3Attention's q_norm / k_norm, Gemma3Attention's): x (batch·T, heads·hd), w (hd), so each
/// head's vector is normalised on its own, as transformers' norm over the last dim of (…, heads, hd);</item>
/// <item>Gemma3RMSNorm (offset 1): <c>output = _norm(x.float()) * (1.0 + weight.float())</c>, the weight stored as a
/// deviation from 1 (initialised to zeros).</item>
/// </list>
/// d(offset + w)/dw = 1, so the weight gradient is RMSNorm's. Slots: A = x, B = w, S0 = rstd (groups), S1 = offset + w
/// (null when offset is 0), F0 = eps.
/// </summary>
public sealed class GroupRmsNorm : Op
{
    static readonly GroupRmsNorm Instance = new();
    public override string Name => nameof(GroupRmsNorm);

    public static Tensor Forward(Tape tape, Tensor x, Tensor w, float eps, float offset = 0)
    {
        int dim = w.Length;
        if (dim <= 0 || x.Cols % dim != 0)
            throw new ArgumentException($"GroupRmsNorm: x {Tensor.ShapeString(x.Shape)} has rows of {x.Cols}, not a multiple of the weight's {dim}");
        var y = tape.New(x.Shape);
        var rstd = tape.New(x.Length / dim);
        Tensor? shifted = null;
        if (offset != 0)
        {
            shifted = tape.New(dim);
            TensorPrimitives.Add(w.Span, offset, shifted.Span);
        }
        NormKernels.RmsNormForward(x.Span, (shifted ?? w).Span, eps, dim, y.Span, rstd.Span);
        if (tape.NeedsGrad(x, w)) tape.Record(new TapeEntry { Op = Instance, Out = y, A = x, B = w, S0 = rstd, S1 = shifted, F0 = eps });
        return y;
    }

    public override void Backward(Tape tape, in TapeEntry e)
    {
        var dx = tape.GradOf(e.A);
        var dw = tape.GradOf(e.B);
        var w = e.S1 ?? e.B!;
        NormKernels.RmsNormBackward(e.A!.Span, w.Span, e.S0!.Span, e.Out.Grad!.Span, w.Length,
            dx is null ? default : dx.Span, dw is null ? default : dw.Span);
    }
}
