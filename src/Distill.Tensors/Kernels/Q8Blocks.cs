namespace Distill.Tensors.Kernels;

/// <summary>
/// ggml's q8_0 quantization of one block of 32 values (ggml-quants.c `quantize_row_q8_0_ref`, gguf-py quants.py Q8_0):
/// d = max|x| / 127 in float32, q = round-half-away-from-zero(x / d) (0 when d = 0), and d kept as fp16. q is computed
/// with the float32 d, not its fp16 rounding, exactly as llama.cpp does. The one implementation behind the GGUF q8_0
/// writer (Distill.Models.Formats.Gguf.Q8_0), the 8-bit inference weights (<see cref="Quantization.Q8Matrix"/>) and the
/// activations quantized on the fly by <see cref="Q8Gemm"/>, so export, import and inference agree bit for bit.
/// </summary>
public static class Q8Blocks
{
    public const int BlockSize = 32;

    /// <summary>Quantizes x (32 values) into q; returns the block scale d as stored (fp16).</summary>
    public static Half QuantizeBlock(ReadOnlySpan<float> x, Span<sbyte> q)
    {
        if (x.Length != BlockSize || q.Length != BlockSize) throw new ArgumentException($"a q8_0 block has {BlockSize} values");
        float amax = 0;
        foreach (float v in x) amax = MathF.Max(amax, MathF.Abs(v));
        float d = amax / 127f;
        float id = d != 0 ? 1f / d : 0f;
        for (int i = 0; i < BlockSize; i++) q[i] = (sbyte)MathF.Round(x[i] * id, MidpointRounding.AwayFromZero); // C's roundf
        return (Half)d;
    }
}
