using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Distill.Tensors.Threading;

namespace Distill.Tensors.Quantization;

/// <summary>The instruction set of the bf16 products.</summary>
public enum Bf16Isa
{
    /// <summary>Portable scalar loops: any CPU.</summary>
    Scalar,
    /// <summary>AVX2 + FMA: 8 bf16 widened per vpmovzxwd + vpslld.</summary>
    Avx2,
    /// <summary>AVX-512F: 16 bf16 widened per vpmovzxwd + vpslld (.NET 10 has no AVX512-BF16 class for vdpbf16ps).</summary>
    Avx512,
}

/// <summary>
/// A frozen weight W (rows × cols) in bfloat16: the high 16 bits of the float32, rounded to nearest even from f32 as
/// PyTorch's <c>.to(torch.bfloat16)</c> does (c10 <c>round_to_nearest_even</c>; NaN → 0x7FC0). 2 bytes per weight,
/// half of f32. The product y = x · Wᵀ keeps x in float32 and widens W on the fly (bf16 → f32 is a 16-bit left shift,
/// exact), so the only error is W's rounding: |W − bf16(W)| ≤ 2⁻⁸·|W| (8 significant bits: half an ulp), hence
/// |Δy| ≤ 2⁻⁸·Σ|x·w| beside float32 summation.
/// </summary>
public sealed class Bf16Matrix : IInferenceMatrix
{
    public int Rows { get; }
    public int Cols { get; }
    public string Format => "bf16";
    public long Bytes => 2L * Bits.LongLength;

    /// <summary>(rows, cols) bf16 bit patterns, pinned (the kernels take pointers without fixing).</summary>
    internal ushort[] Bits { get; }

    public static Bf16Isa Best { get; } = Avx512F.IsSupported ? Bf16Isa.Avx512 : Avx2.IsSupported && Fma.IsSupported ? Bf16Isa.Avx2 : Bf16Isa.Scalar;

    /// <summary>Per-thread override (tests): the kernel this thread's calls use.</summary>
    [ThreadStatic] public static Bf16Isa? Override;

    public static bool IsSupported(Bf16Isa isa) => isa switch
    {
        Bf16Isa.Avx512 => Avx512F.IsSupported,
        Bf16Isa.Avx2 => Avx2.IsSupported && Fma.IsSupported,
        _ => true,
    };

    Bf16Matrix(int rows, int cols)
    {
        if (rows < 1 || cols < 1) throw new ArgumentException($"bf16 needs a non-empty weight, got [{rows}, {cols}]");
        Rows = rows;
        Cols = cols;
        Bits = GC.AllocateUninitializedArray<ushort>(rows * cols, pinned: true);
    }

    /// <summary>float32 → bfloat16 bits, round to nearest even (PyTorch c10::detail::round_to_nearest_even).</summary>
    public static ushort Round(float f)
    {
        if (float.IsNaN(f)) return 0x7FC0;
        uint u = BitConverter.SingleToUInt32Bits(f);
        return (ushort)((u + 0x7FFFu + ((u >> 16) & 1)) >> 16);
    }

    /// <summary>bfloat16 bits → float32 (exact).</summary>
    public static float Widen(ushort b) => BitConverter.UInt32BitsToSingle((uint)b << 16);

    /// <summary>Rounds w (rows, cols) row-major to bf16.</summary>
    public static Bf16Matrix Quantize(ReadOnlySpan<float> w, int rows, int cols)
    {
        var m = new Bf16Matrix(rows, cols);
        if (w.Length != (long)rows * cols) throw new ArgumentException($"bf16: {w.Length} values for a [{rows}, {cols}] weight");
        for (int i = 0; i < w.Length; i++) m.Bits[i] = Round(w[i]);
        return m;
    }

    public void Dequantize(Span<float> dst)
    {
        if (dst.Length != Bits.Length) throw new ArgumentException("bf16: output has the wrong length");
        for (int i = 0; i < dst.Length; i++) dst[i] = Widen(Bits[i]);
    }

    /// <summary>y (m, rows) = x (m, cols) · Wᵀ with the kernel <see cref="Override"/> or <see cref="Best"/>; output rows split across <see cref="Workers"/>.</summary>
    public unsafe void Forward(ReadOnlySpan<float> x, int m, Span<float> y)
    {
        if (x.Length != (long)m * Cols) throw new ArgumentException($"bf16 matmul: x has {x.Length} values, expected {m}·{Cols}");
        if (y.Length != (long)m * Rows) throw new ArgumentException($"bf16 matmul: y has {y.Length} values, expected {m}·{Rows}");
        var isa = Override ?? Best;
        if (!IsSupported(isa)) throw new PlatformNotSupportedException($"bf16 kernel {isa} needs instructions this CPU lacks (best here: {Best})");
        fixed (float* px = x) fixed (float* py = y)
            Workers.For(Rows, new Body { X = px, Y = py, W = this, M = m, Isa = isa }, minChunk: 32);
    }

    unsafe struct Body : IRangeBody
    {
        public float* X, Y;
        public Bf16Matrix W;
        public int M;
        public Bf16Isa Isa;

        public readonly void Run(int begin, int end)
        {
            int k = W.Cols, n = W.Rows;
            fixed (ushort* wb = W.Bits)
                for (int j = begin; j < end; j++)
                {
                    ushort* w = wb + (long)j * k;
                    int r = 0;
                    if (Isa == Bf16Isa.Avx512)
                        for (; r + 4 <= M; r += 4) Avx512Rows4(w, X + (long)r * k, k, Y + (long)r * n + j, n);
                    for (; r < M; r++)
                        Y[(long)r * n + j] = Isa switch
                        {
                            Bf16Isa.Avx512 => Avx512Row1(w, X + (long)r * k, k),
                            Bf16Isa.Avx2 => Avx2Row1(w, X + (long)r * k, k),
                            _ => ScalarRow(w, X + (long)r * k, k),
                        };
                }
        }
    }

    static unsafe float ScalarRow(ushort* w, float* x, int k)
    {
        float s = 0;
        for (int i = 0; i < k; i++) s += Widen(w[i]) * x[i];
        return s;
    }

    // vpmovzxwd puts each bf16 in the low half of a 32-bit lane; shifting it left by 16 gives its float32.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static unsafe Vector512<float> Widen16(ushort* w) => Avx512F.ShiftLeftLogical(Avx512F.ConvertToVector512Int32(Avx.LoadVector256(w)), 16).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static unsafe Vector256<float> Widen8(ushort* w) => Avx2.ShiftLeftLogical(Avx2.ConvertToVector256Int32(Sse2.LoadVector128(w)), 16).AsSingle();

    static unsafe float Avx512Row1(ushort* w, float* x, int k)
    {
        // Four accumulators so consecutive FMAs do not wait on each other.
        Vector512<float> a0 = Vector512<float>.Zero, a1 = a0, a2 = a0, a3 = a0;
        int i = 0;
        for (; i + 64 <= k; i += 64)
        {
            a0 = Avx512F.FusedMultiplyAdd(Widen16(w + i), Avx512F.LoadVector512(x + i), a0);
            a1 = Avx512F.FusedMultiplyAdd(Widen16(w + i + 16), Avx512F.LoadVector512(x + i + 16), a1);
            a2 = Avx512F.FusedMultiplyAdd(Widen16(w + i + 32), Avx512F.LoadVector512(x + i + 32), a2);
            a3 = Avx512F.FusedMultiplyAdd(Widen16(w + i + 48), Avx512F.LoadVector512(x + i + 48), a3);
        }
        for (; i + 16 <= k; i += 16) a0 = Avx512F.FusedMultiplyAdd(Widen16(w + i), Avx512F.LoadVector512(x + i), a0);
        float s = Vector512.Sum((a0 + a1) + (a2 + a3));
        for (; i < k; i++) s += Widen(w[i]) * x[i];
        return s;
    }

    static unsafe void Avx512Rows4(ushort* w, float* x, int k, float* y, int n)
    {
        Vector512<float> a0 = Vector512<float>.Zero, a1 = a0, a2 = a0, a3 = a0;
        int i = 0;
        for (; i + 16 <= k; i += 16)
        {
            var wv = Widen16(w + i);
            a0 = Avx512F.FusedMultiplyAdd(wv, Avx512F.LoadVector512(x + i), a0);
            a1 = Avx512F.FusedMultiplyAdd(wv, Avx512F.LoadVector512(x + k + i), a1);
            a2 = Avx512F.FusedMultiplyAdd(wv, Avx512F.LoadVector512(x + 2 * k + i), a2);
            a3 = Avx512F.FusedMultiplyAdd(wv, Avx512F.LoadVector512(x + 3 * k + i), a3);
        }
        float s0 = Vector512.Sum(a0), s1 = Vector512.Sum(a1), s2 = Vector512.Sum(a2), s3 = Vector512.Sum(a3);
        for (; i < k; i++)
        {
            float wi = Widen(w[i]);
            s0 += wi * x[i]; s1 += wi * x[k + i]; s2 += wi * x[2 * k + i]; s3 += wi * x[3 * k + i];
        }
        y[0] = s0; y[n] = s1; y[2 * n] = s2; y[3 * n] = s3;
    }

    static unsafe float Avx2Row1(ushort* w, float* x, int k)
    {
        Vector256<float> a0 = Vector256<float>.Zero, a1 = a0, a2 = a0, a3 = a0;
        int i = 0;
        for (; i + 32 <= k; i += 32)
        {
            a0 = Fma.MultiplyAdd(Widen8(w + i), Avx.LoadVector256(x + i), a0);
            a1 = Fma.MultiplyAdd(Widen8(w + i + 8), Avx.LoadVector256(x + i + 8), a1);
            a2 = Fma.MultiplyAdd(Widen8(w + i + 16), Avx.LoadVector256(x + i + 16), a2);
            a3 = Fma.MultiplyAdd(Widen8(w + i + 24), Avx.LoadVector256(x + i + 24), a3);
        }
        for (; i + 8 <= k; i += 8) a0 = Fma.MultiplyAdd(Widen8(w + i), Avx.LoadVector256(x + i), a0);
        float s = Vector256.Sum((a0 + a1) + (a2 + a3));
        for (; i < k; i++) s += Widen(w[i]) * x[i];
        return s;
    }
}
