using System.Buffers.Binary;
using Distill.Tensors.Kernels;

namespace Distill.Models.Formats.Gguf;

/// <summary>
/// ggml's Q8_0 blocks (ggml-common.h `block_q8_0`): 32 values as one fp16 scale d followed by 32 int8 q, x ≈ d·q.
/// Quantization follows ggml-quants.c `quantize_row_q8_0_ref` (and gguf-py quants.py Q8_0): d = max|x| / 127 in
/// float32, q = round-half-away-from-zero(x / d) (0 when d = 0), then d stored as fp16 — so q is computed with the
/// float32 d, not with its fp16 rounding, exactly as llama.cpp does. The block quantizer is the engine's
/// <see cref="Q8Blocks.QuantizeBlock"/>, shared with the 8-bit inference weights (Distill.Tensors.Quantization.Q8Matrix).
/// </summary>
public static class Q8_0
{
    public const int BlockSize = Q8Blocks.BlockSize;
    public const int BlockBytes = 2 + BlockSize;

    // src: (n) with n a multiple of 32  ->  dst: (n / 32 · 34) bytes
    public static void Quantize(ReadOnlySpan<float> src, Span<byte> dst)
    {
        if (src.Length % BlockSize != 0) throw new ArgumentException($"Q8_0 needs a multiple of {BlockSize} values, got {src.Length}");
        if (dst.Length != src.Length / BlockSize * BlockBytes) throw new ArgumentException("Q8_0 output has the wrong length");
        for (int b = 0; b < src.Length / BlockSize; b++)
        {
            var x = src.Slice(b * BlockSize, BlockSize);
            var block = dst.Slice(b * BlockBytes, BlockBytes);
            var q = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, sbyte>(block[2..]);
            BinaryPrimitives.WriteHalfLittleEndian(block, Q8Blocks.QuantizeBlock(x, q));
        }
    }

    public static void Dequantize(ReadOnlySpan<byte> src, Span<float> dst)
    {
        if (dst.Length % BlockSize != 0 || src.Length != dst.Length / BlockSize * BlockBytes)
            throw new ArgumentException("Q8_0 input and output lengths disagree");
        for (int b = 0; b < dst.Length / BlockSize; b++)
        {
            var block = src.Slice(b * BlockBytes, BlockBytes);
            float d = (float)BinaryPrimitives.ReadHalfLittleEndian(block);
            for (int i = 0; i < BlockSize; i++) dst[b * BlockSize + i] = d * (sbyte)block[2 + i];
        }
    }
}
