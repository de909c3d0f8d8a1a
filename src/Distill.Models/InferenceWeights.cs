namespace Distill.Models;

/// <summary>
/// The weights forward-only passes (generation, serving, sampling inside the pipelines, scoring) run on: the float32
/// reference, or llama.cpp's q8_0 (8-bit blocks of 32 with one scale, activations quantized per block on the fly).
/// The switch `--weights` / recipe key `student.inference_weights` (docs/models.md "8-bit inference weights").
/// </summary>
public enum InferenceWeights { F32, Q8 }

public static class InferenceWeightsNames
{
    public const string Choices = "f32|q8";

    public static InferenceWeights Parse(string s) => s.Trim().ToLowerInvariant() switch
    {
        "f32" or "fp32" or "float32" => InferenceWeights.F32,
        "q8" or "q8_0" => InferenceWeights.Q8,
        "bf16" => throw new ArgumentException("--weights bf16 is not implemented in this build (f32 or q8)"),
        _ => throw new ArgumentException($"unknown inference weights '{s}' (expected {Choices})"),
    };

    public static string Name(this InferenceWeights w) => w == InferenceWeights.Q8 ? "q8" : "f32";
}
