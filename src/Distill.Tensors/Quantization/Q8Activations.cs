using Distill.Tensors.Kernels;

namespace Distill.Tensors.Quantization;

/// <summary>
/// Activations x (m, k) quantized on the fly for <see cref="Q8Gemm"/>, per block of 32 like the weights (llama.cpp
/// quantizes activations to q8_0 for its q8_0 dot products, ggml-cpu `vec_dot_q8_0_q8_0`): codes q, scales d, and per
/// block what the kernels need besides — |q| (AVX2's pmaddubsw takes an unsigned operand) and −128·Σq, which cancels
/// the +128 offset of the weight codes inside vpdpbusd's accumulator. Reused across calls (grown, never shrunk).
/// </summary>
public sealed class Q8Activations
{
    public int M { get; private set; }
    public int K { get; private set; }
    public int BlocksPerRow => K / Q8Blocks.BlockSize;

    internal sbyte[] Codes = [];
    internal byte[] Abs = [];
    internal float[] Scales = [];
    internal int[] Offset = []; // −128·Σ q per block

    void Resize(int m, int k)
    {
        if (!Q8Matrix.Fits(k)) throw new ArgumentException($"q8_0 activations need a multiple of {Q8Blocks.BlockSize} features, got {k}");
        M = m;
        K = k;
        int blocks = m * (k / Q8Blocks.BlockSize);
        if (Codes.Length < m * k)
        {
            Codes = GC.AllocateUninitializedArray<sbyte>(m * k, pinned: true);
            Abs = GC.AllocateUninitializedArray<byte>(m * k, pinned: true);
        }
        if (Scales.Length < blocks)
        {
            Scales = GC.AllocateUninitializedArray<float>(blocks, pinned: true);
            Offset = GC.AllocateUninitializedArray<int>(blocks, pinned: true);
        }
    }

    /// <summary>Quantizes x (m, k) row-major with the q8_0 block quantizer.</summary>
    public void Quantize(ReadOnlySpan<float> x, int m, int k)
    {
        if (x.Length != m * k) throw new ArgumentException($"q8_0 activations: {x.Length} values for ({m}, {k})");
        Resize(m, k);
        for (int b = 0; b < m * BlocksPerRow; b++)
        {
            var q = Codes.AsSpan(b * Q8Blocks.BlockSize, Q8Blocks.BlockSize);
            Scales[b] = (float)Q8Blocks.QuantizeBlock(x.Slice(b * Q8Blocks.BlockSize, Q8Blocks.BlockSize), q);
            Finish(b);
        }
    }

    /// <summary>Activations given as codes (m, k) and block scales (tests: exact integer sums).</summary>
    public void SetCodes(ReadOnlySpan<sbyte> q, ReadOnlySpan<float> scales, int m, int k)
    {
        Resize(m, k);
        if (q.Length != m * k || scales.Length != m * BlocksPerRow) throw new ArgumentException($"q8_0 activations: codes or scales do not match ({m}, {k})");
        q.CopyTo(Codes);
        scales.CopyTo(Scales);
        for (int b = 0; b < m * BlocksPerRow; b++) Finish(b);
    }

    void Finish(int b)
    {
        int sum = 0;
        for (int i = b * Q8Blocks.BlockSize; i < (b + 1) * Q8Blocks.BlockSize; i++)
        {
            sum += Codes[i];
            Abs[i] = (byte)Math.Abs(Codes[i]); // |q| ≤ 127: codes come from round(x / (max|x| / 127))
        }
        Offset[b] = -128 * sum;
    }
}
