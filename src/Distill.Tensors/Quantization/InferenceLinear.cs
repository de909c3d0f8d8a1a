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
        var y = NewOutput(tape, x, w.Rows);
        GemmWork.Add(x.Rows, w.Rows, w.Cols);
        w.Forward(x.Span, x.Rows, y.Span);
        if (bias is not null) LinearKernels.AddBias(y.Span, bias.Span);
        return y;
    }

    /// <summary>
    /// y = x Wᵀ + b + s · (x Aᵀ) Bᵀ: the same with a LoRA branch (A: (r, cols), B: (rows, r)) added into y in place, as the
    /// training side's fused LoraLinear does (h = x Aᵀ; y += s · h Bᵀ with β = 1): no separate branch output and sum.
    /// </summary>
    public static Tensor Forward(Tape tape, Tensor x, IInferenceMatrix w, Tensor? bias, Tensor loraA, Tensor loraB, float scale)
    {
        var y = Forward(tape, x, w, bias);
        AddLora(tape, x, y, loraA, loraB, scale);
        return y;
    }

    /// <summary>
    /// y (x's rows, out) += s · (x Aᵀ) Bᵀ in place (A: (r, in), B: (out, r)): the LoRA branch of an inference product
    /// whose base part is already in y (<see cref="Forward(Tape, Tensor, IInferenceMatrix, Tensor?, Tensor, Tensor, float)"/>,
    /// or a grouped product, PackedF32Matrix.ForwardMany).
    /// </summary>
    public static void AddLora(Tape tape, Tensor x, Tensor y, Tensor loraA, Tensor loraB, float scale)
    {
        int rows = x.Rows, r = loraA.Rows, cols = x.Cols, outs = y.Cols;
        if (tape.NeedsGrad(loraA) || tape.NeedsGrad(loraB)) throw new InvalidOperationException("inference weights are for forward-only (NoGrad) passes: no gradient flows through them");
        if (loraA.Rank != 2 || loraA.Cols != cols || loraB.Rank != 2 || loraB.Rows != outs || loraB.Cols != r || y.Rows != rows)
            throw new ArgumentException($"inference linear: lora A {Tensor.ShapeString(loraA.Shape)} and B {Tensor.ShapeString(loraB.Shape)} do not fit x {Tensor.ShapeString(x.Shape)} → y {Tensor.ShapeString(y.Shape)}: A must be (r, {cols}) and B ({outs}, r)");
        var h = tape.New(rows, r);
        Gemm.Sgemm(false, true, rows, r, cols, 1f, x.Span, cols, loraA.Span, cols, 0f, h.Span, r);
        Gemm.Sgemm(false, true, rows, outs, r, scale, h.Span, r, loraB.Span, r, 1f, y.Span, outs);
    }

    /// <summary>A fresh output of x's shape with the last dimension <paramref name="features"/> (x's rows × features).</summary>
    public static Tensor NewOutput(Tape tape, Tensor x, int features)
    {
        Span<int> shape = stackalloc int[x.Rank];
        x.Shape.CopyTo(shape);
        shape[^1] = features;
        return tape.New(shape);
    }
}
