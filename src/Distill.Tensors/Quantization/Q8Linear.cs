using Distill.Tensors.Autograd;
using Distill.Tensors.Kernels;

namespace Distill.Tensors.Quantization;

/// <summary>
/// y = x Wᵀ + b with W in q8_0 and x quantized per block on the fly (<see cref="Q8Gemm"/>): the forward-only linear of
/// 8-bit inference (generation, serving, sampling). Not an <see cref="Op"/>: it records nothing and has no backward, so
/// it refuses a tape that would need a gradient through it.
/// </summary>
public static class Q8Linear
{
    public static Tensor Forward(Tape tape, Tensor x, Q8Matrix w, Tensor? bias = null)
    {
        if (tape.NeedsGrad(x, bias)) throw new InvalidOperationException("q8_0 weights are for forward-only (NoGrad) passes: no gradient flows through them");
        if (x.Cols != w.Cols) throw new ArgumentException($"q8_0 linear: x has {x.Cols} features, W [{w.Rows}, {w.Cols}] expects {w.Cols}");
        if (bias is not null && bias.Length != w.Rows) throw new ArgumentException($"q8_0 linear: bias has {bias.Length} values, W has {w.Rows} rows");
        Span<int> shape = stackalloc int[x.Rank];
        x.Shape.CopyTo(shape);
        shape[^1] = w.Rows;
        var y = tape.New(shape);
        Q8Gemm.Forward(x.Span, x.Rows, w, y.Span);
        if (bias is not null) LinearKernels.AddBias(y.Span, bias.Span);
        return y;
    }
}
