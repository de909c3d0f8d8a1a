using Distill.Tensors.Autograd;
using Distill.Tensors.Kernels;

namespace Distill.Tensors.Quantization;

/// <summary>
/// y = x Wᵀ + b with W in an inference format (<see cref="IInferenceMatrix"/>: q8_0 or per-row int8 with activations
/// quantized on the fly, or bf16 widened on the fly): the forward-only linear of generation, serving, sampling and
/// reward scoring. Not an <see cref="Op"/>: it records nothing and has no backward, so it refuses a tape that would
/// need a gradient through it.
/// </summary>
public static class InferenceLinear
{
    public static Tensor Forward(Tape tape, Tensor x, IInferenceMatrix w, Tensor? bias = null)
    {
        if (tape.NeedsGrad(x, bias)) throw new InvalidOperationException($"{w.Format} weights are for forward-only (NoGrad) passes: no gradient flows through them");
        if (x.Cols != w.Cols) throw new ArgumentException($"{w.Format} linear: x has {x.Cols} features, W [{w.Rows}, {w.Cols}] expects {w.Cols}");
        if (bias is not null && bias.Length != w.Rows) throw new ArgumentException($"{w.Format} linear: bias has {bias.Length} values, W has {w.Rows} rows");
        Span<int> shape = stackalloc int[x.Rank];
        x.Shape.CopyTo(shape);
        shape[^1] = w.Rows;
        var y = tape.New(shape);
        w.Forward(x.Span, x.Rows, y.Span);
        if (bias is not null) LinearKernels.AddBias(y.Span, bias.Span);
        return y;
    }
}
