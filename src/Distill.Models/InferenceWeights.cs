using Distill.Tensors.Quantization;

namespace Distill.Models;

/// <summary>
/// The weights forward-only passes (generation, serving, sampling inside the pipelines, reward scoring) run on: the
/// float32 reference; llama.cpp's q8_0 (8-bit blocks of 32 with one scale, activations quantized per block on the
/// fly); q8row (8-bit with one scale per output row, same kernels); or bf16 (float32 rounded to nearest even, widened
/// on the fly); or f32packed (float32 itself, packed once into the GEMM's micro-panels: the same products as f32 to
/// float32 rounding, faster for batched sampling, a second copy of the frozen weights in memory). The switch
/// `--weights` / recipe key `student.inference_weights` (docs/models.md "8-bit inference weights").
/// </summary>
public enum InferenceWeights { F32, Q8, Q8Row, Bf16, F32Packed }

public static class InferenceWeightsNames
{
    public const string Choices = "f32|q8|q8row|bf16|f32packed";

    public static InferenceWeights Parse(string s) => s.Trim().ToLowerInvariant() switch
    {
        "f32" or "fp32" or "float32" => InferenceWeights.F32,
        "q8" or "q8_0" => InferenceWeights.Q8,
        "q8row" or "q8_row" => InferenceWeights.Q8Row,
        "bf16" or "bfloat16" => InferenceWeights.Bf16,
        "f32packed" or "f32-packed" or "packed" => InferenceWeights.F32Packed,
        _ => throw new ArgumentException($"unknown inference weights '{s}' (expected {Choices})"),
    };

    public static string Name(this InferenceWeights w) => w switch
    {
        InferenceWeights.Q8 => "q8",
        InferenceWeights.Q8Row => "q8row",
        InferenceWeights.Bf16 => "bf16",
        InferenceWeights.F32Packed => "f32packed",
        _ => "f32",
    };

    /// <summary>Whether a [*, cols] weight can be held in this format (the 8-bit kernels work on blocks of 32).</summary>
    public static bool Fits(this InferenceWeights w, int cols) => w switch
    {
        InferenceWeights.Q8 or InferenceWeights.Q8Row => Q8Matrix.Fits(cols),
        InferenceWeights.Bf16 or InferenceWeights.F32Packed => cols > 0,
        _ => false,
    };

    /// <summary>The inference copy of a frozen weight w (rows, cols) in this format.</summary>
    public static IInferenceMatrix Convert(this InferenceWeights f, ReadOnlySpan<float> w, int rows, int cols) => f switch
    {
        InferenceWeights.Q8 => Q8Matrix.Quantize(w, rows, cols),
        InferenceWeights.Q8Row => Q8Matrix.QuantizePerRow(w, rows, cols),
        InferenceWeights.Bf16 => Bf16Matrix.Quantize(w, rows, cols),
        InferenceWeights.F32Packed => PackedF32Matrix.Pack(w, rows, cols),
        _ => throw new ArgumentException("f32 weights need no inference copy"),
    };
}
