namespace Distill.Tensors.Quantization;

/// <summary>
/// A frozen weight W (rows × cols, PyTorch's [out, in]) held in a compact inference format — q8_0 or per-row int8
/// (<see cref="Q8Matrix"/>), bf16 (<see cref="Bf16Matrix"/>) — and its forward product y (m, rows) = x (m, cols) · Wᵀ.
/// Forward only: nothing is differentiated through it (<see cref="InferenceLinear"/>).
/// </summary>
public interface IInferenceMatrix
{
    int Rows { get; }
    int Cols { get; }
    /// <summary>Bytes of weight data read per full product (codes and scales, or bf16 values).</summary>
    long Bytes { get; }
    /// <summary>The format's name as reports print it: q8_0, q8row, bf16.</summary>
    string Format { get; }
    /// <summary>y (m, rows) = x (m, cols) · Wᵀ, overwriting y.</summary>
    void Forward(ReadOnlySpan<float> x, int m, Span<float> y);
    /// <summary>W as float32 (rows, cols), as the kernels see it.</summary>
    void Dequantize(Span<float> dst);
}
