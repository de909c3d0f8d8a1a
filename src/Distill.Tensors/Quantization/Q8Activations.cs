using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
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

    /// <summary>Per-thread switch (tests): quantize with the scalar reference loop instead of the AVX2 one.</summary>
    [ThreadStatic] public static bool ForceScalar;

    /// <summary>
    /// Quantizes x (m, k) row-major with the q8_0 block quantizer. With AVX2 the blocks are quantized 32 lanes at a time
    /// (profiling batch-1 decode: the scalar loop, MathF.Round per value, cost ≈ 5 % of a token) with the same float32
    /// operations — max|x|, d = amax/127, x·(1/d), round half away from zero, d kept as fp16 — so codes and scales are
    /// bit-identical to <see cref="Q8Blocks.QuantizeBlock"/> (Q8ActivationsTests).
    /// </summary>
    public unsafe void Quantize(ReadOnlySpan<float> x, int m, int k)
    {
        if (x.Length != m * k) throw new ArgumentException($"q8_0 activations: {x.Length} values for ({m}, {k})");
        Resize(m, k);
        if (Avx2.IsSupported && !ForceScalar)
        {
            fixed (float* px = x) fixed (sbyte* pq = Codes) fixed (byte* pa = Abs)
                for (int b = 0; b < m * BlocksPerRow; b++)
                    QuantizeBlockAvx2(px + b * Q8Blocks.BlockSize, pq + b * Q8Blocks.BlockSize, pa + b * Q8Blocks.BlockSize, out Scales[b], out Offset[b]);
            return;
        }
        for (int b = 0; b < m * BlocksPerRow; b++)
        {
            var q = Codes.AsSpan(b * Q8Blocks.BlockSize, Q8Blocks.BlockSize);
            Scales[b] = (float)Q8Blocks.QuantizeBlock(x.Slice(b * Q8Blocks.BlockSize, Q8Blocks.BlockSize), q);
            Finish(b);
        }
    }

    /// <summary>The code of value i and the scale of block b (tests).</summary>
    public sbyte CodeOf(int i) => Codes[i];
    public float ScaleOf(int b) => Scales[b];

    /// <summary>Activations given as codes (m, k) and block scales (tests: exact integer sums).</summary>
    public void SetCodes(ReadOnlySpan<sbyte> q, ReadOnlySpan<float> scales, int m, int k)
    {
        Resize(m, k);
        if (q.Length != m * k || scales.Length != m * BlocksPerRow) throw new ArgumentException($"q8_0 activations: codes or scales do not match ({m}, {k})");
        q.CopyTo(Codes);
        scales.CopyTo(Scales);
        for (int b = 0; b < m * BlocksPerRow; b++) Finish(b);
    }

    static unsafe void QuantizeBlockAvx2(float* x, sbyte* q, byte* abs, out float scale, out int offset)
    {
        var signMask = Vector256.Create(-0f);
        var v0 = Avx.LoadVector256(x); var v1 = Avx.LoadVector256(x + 8); var v2 = Avx.LoadVector256(x + 16); var v3 = Avx.LoadVector256(x + 24);
        var m = Avx.Max(Avx.Max(Avx.AndNot(signMask, v0), Avx.AndNot(signMask, v1)), Avx.Max(Avx.AndNot(signMask, v2), Avx.AndNot(signMask, v3)));
        var m4 = Sse.Max(m.GetLower(), m.GetUpper());
        m4 = Sse.Max(m4, Sse.Shuffle(m4, m4, 0b01_00_11_10));
        m4 = Sse.Max(m4, Sse.Shuffle(m4, m4, 0b10_11_00_01));
        float amax = m4.ToScalar();
        float d = amax / 127f;
        float id = d != 0 ? 1f / d : 0f;
        scale = (float)(Half)d;
        var vid = Vector256.Create(id);
        var i0 = RoundAway(Avx.Multiply(v0, vid)); var i1 = RoundAway(Avx.Multiply(v1, vid));
        var i2 = RoundAway(Avx.Multiply(v2, vid)); var i3 = RoundAway(Avx.Multiply(v3, vid));
        var sum = Avx2.Add(Avx2.Add(i0, i1), Avx2.Add(i2, i3));
        offset = -128 * Vector256.Sum(sum);
        // int32 → int16 → int8 packs work per 128-bit lane; the dword permute restores the order (llama.cpp's quantize_row_q8_0)
        var p16a = Avx2.PackSignedSaturate(i0, i1);
        var p16b = Avx2.PackSignedSaturate(i2, i3);
        var p8 = Avx2.PermuteVar8x32(Avx2.PackSignedSaturate(p16a, p16b).AsInt32(), Vector256.Create(0, 4, 1, 5, 2, 6, 3, 7)).AsSByte();
        Avx.Store(q, p8);
        Avx.Store(abs, Avx2.Abs(p8));
    }

    // C's roundf (half away from zero) exactly: t = trunc(y), then ±1 when |y − t| ≥ ½ (y − t is exact in float32).
    static Vector256<int> RoundAway(Vector256<float> y)
    {
        var t = Avx.RoundToZero(y);
        var frac = Avx.Subtract(y, t);
        var half = Avx.CompareGreaterThanOrEqual(Avx.AndNot(Vector256.Create(-0f), frac), Vector256.Create(0.5f));
        var step = Avx.Or(Avx.And(y, Vector256.Create(-0f)), Vector256.Create(1f)); // ±1 with y's sign
        return Avx.ConvertToVector256Int32WithTruncation(Avx.Add(t, Avx.And(half, step)));
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
