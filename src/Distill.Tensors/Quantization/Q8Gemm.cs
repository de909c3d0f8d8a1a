using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Distill.Tensors.Kernels;
using Distill.Tensors.Threading;

namespace Distill.Tensors.Quantization;

/// <summary>The instruction set of the q8_0 dot products.</summary>
public enum Q8Isa
{
    /// <summary>Portable scalar loops: any CPU.</summary>
    Scalar,
    /// <summary>AVX2: vpsignb + vpmaddubsw + vpmaddwd (llama.cpp's AVX2 q8_0 dot without VNNI).</summary>
    Avx2,
    /// <summary>AVX-VNNI: vpdpbusd on ymm (unsigned weight codes × signed activation codes, int32 accumulate).</summary>
    AvxVnni,
}

/// <summary>
/// y (m, n) = x (m, k) · Wᵀ with W (n, k) in q8_0 (<see cref="Q8Matrix"/>) and x quantized to q8_0 per block of 32
/// (<see cref="Q8Activations"/>): for each output, Σ over blocks b of d_w,b · d_x,b · Σᵢ q_w,i · q_x,i, the inner sum
/// exact in int32 (|Σ| ≤ 32·127² &lt; 2²⁴, so also exact in float32), the outer one in float32. This is ggml-cpu's
/// `vec_dot_q8_0_q8_0`. Forward only: the weights are frozen and nothing is differentiated.
///
/// Kernels: AVX-VNNI vpdpbusd (ymm; .NET 10 exposes no 512-bit vpdpbusd — there is no `Avx512Vnni` class, only
/// `AvxVnni` and `AvxVnniInt8`, and this CPU lacks VNNI-INT8), AVX2 vpmaddubsw, scalar. Each weight row is read once
/// for up to 4 activation rows (batch-16 decoding reads W once per 4 rows, from L1). Output rows are split across
/// <see cref="Workers"/>. The per-block float sums run in a different order per kernel, so kernels agree to float
/// rounding; with unit scales every partial sum is an integer below 2²⁴ and they agree exactly (Q8GemmTests).
/// </summary>
public static class Q8Gemm
{
    public static Q8Isa Best { get; } = AvxVnni.IsSupported ? Q8Isa.AvxVnni : Avx2.IsSupported && Fma.IsSupported ? Q8Isa.Avx2 : Q8Isa.Scalar;

    /// <summary>Per-thread override (tests): the kernel this thread's calls use.</summary>
    [ThreadStatic] public static Q8Isa? Override;

    [ThreadStatic] static Q8Activations? _scratch;

    public static bool IsSupported(Q8Isa isa) => isa switch
    {
        Q8Isa.AvxVnni => AvxVnni.IsSupported && Fma.IsSupported,
        Q8Isa.Avx2 => Avx2.IsSupported && Fma.IsSupported,
        _ => true,
    };

    /// <summary>y (m, n) = x (m, k) · Wᵀ, overwriting y; x is quantized to q8_0 first.</summary>
    public static void Forward(ReadOnlySpan<float> x, int m, Q8Matrix w, Span<float> y)
    {
        var xq = _scratch ??= new Q8Activations();
        xq.Quantize(x, m, w.Cols);
        Forward(xq, w, y);
    }

    /// <summary>y (m, n) = x · Wᵀ for already quantized activations, with the kernel <see cref="Override"/> or <see cref="Best"/>.</summary>
    public static unsafe void Forward(Q8Activations x, Q8Matrix w, Span<float> y)
    {
        if (x.K != w.Cols) throw new ArgumentException($"q8_0 matmul: x has {x.K} features, W [{w.Rows}, {w.Cols}] expects {w.Cols}");
        if (y.Length != x.M * w.Rows) throw new ArgumentException($"q8_0 matmul: y has {y.Length} values, expected {x.M}·{w.Rows}");
        var isa = Override ?? Best;
        if (!IsSupported(isa)) throw new PlatformNotSupportedException($"q8_0 kernel {isa} needs instructions this CPU lacks (best here: {Best})");
        fixed (float* py = y)
            Workers.For(w.Rows, new Body { X = x, W = w, Y = py, Isa = isa }, minChunk: 32);
    }

    unsafe struct Body : IRangeBody
    {
        public Q8Activations X;
        public Q8Matrix W;
        public float* Y;
        public Q8Isa Isa;

        public readonly void Run(int begin, int end)
        {
            int m = X.M, n = W.Rows, k = W.Cols, blocks = W.BlocksPerRow;
            fixed (byte* wc = W.Codes) fixed (float* wd = W.Scales)
            fixed (sbyte* xc = X.Codes) fixed (byte* xa = X.Abs) fixed (float* xd = X.Scales) fixed (int* xo = X.Offset)
            {
                var a = new Act { Codes = xc, Abs = xa, Scales = xd, Offset = xo, K = k, Blocks = blocks, Ds = W.PerRow ? 0 : 1 };
                Span<float> out4 = stackalloc float[4];
                for (int j = begin; j < end; j++)
                {
                    byte* wr = wc + (long)j * k;
                    float* dr = wd + (long)j * W.ScalesPerRow;
                    int r = 0;
                    for (; r + 4 <= m; r += 4)
                    {
                        switch (Isa)
                        {
                            case Q8Isa.AvxVnni: Vnni4(wr, dr, a, r, out4); break;
                            case Q8Isa.Avx2: Avx2Rows4(wr, dr, a, r, out4); break;
                            default: for (int i = 0; i < 4; i++) out4[i] = ScalarRow(wr, dr, a, r + i); break;
                        }
                        for (int i = 0; i < 4; i++) Y[(long)(r + i) * n + j] = out4[i];
                    }
                    for (; r < m; r++)
                        Y[(long)r * n + j] = Isa switch
                        {
                            Q8Isa.AvxVnni => Vnni1(wr, dr, a, r),
                            Q8Isa.Avx2 => Avx2Row1(wr, dr, a, r),
                            _ => ScalarRow(wr, dr, a, r),
                        };
                }
            }
        }
    }

    /// <summary>The activation arrays as pointers, fixed for the duration of a chunk.</summary>
    unsafe struct Act
    {
        public sbyte* Codes;
        public byte* Abs;
        public float* Scales;
        public int* Offset;
        public int K, Blocks;
        /// <summary>Stride of the weight scales per block: 1 (q8_0), 0 (q8row: the row's one scale).</summary>
        public int Ds;
    }

    /// <summary>The reference: Σ_b d_w,b · d_x,b · (Σᵢ q_w,i q_x,i) with the inner sum in int.</summary>
    static unsafe float ScalarRow(byte* w, float* dw, in Act a, int r)
    {
        sbyte* x = a.Codes + (long)r * a.K;
        float* dx = a.Scales + (long)r * a.Blocks;
        float sum = 0;
        for (int b = 0; b < a.Blocks; b++)
        {
            int dot = 0;
            for (int i = b * Q8Blocks.BlockSize; i < (b + 1) * Q8Blocks.BlockSize; i++) dot += (sbyte)(w[i] ^ 0x80) * x[i];
            sum += dw[b * a.Ds] * dx[b] * dot;
        }
        return sum;
    }

    // vpdpbusd(offset, w + 128, x): the 8 int32 lanes sum to Σ (q_w + 128) q_x − 128 Σ q_x = Σ q_w q_x.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static unsafe Vector256<float> VnniBlock(Vector256<byte> w, in Act a, long xAt, int block)
        => Avx.ConvertToVector256Single(AvxVnni.MultiplyWideningAndAdd(Vector256.CreateScalar(a.Offset[block]), w, Avx.LoadVector256(a.Codes + xAt)));

    static unsafe float Vnni1(byte* w, float* dw, in Act a, int r)
    {
        long x0 = (long)r * a.K;
        int o = r * a.Blocks;
        float* dx = a.Scales + o;
        // Two accumulators (even and odd blocks) so consecutive blocks' FMAs do not wait on each other.
        Vector256<float> acc0 = Vector256<float>.Zero, acc1 = Vector256<float>.Zero;
        int b = 0;
        for (; b + 2 <= a.Blocks; b += 2)
        {
            var w0 = Avx.LoadVector256(w + b * 32);
            var w1 = Avx.LoadVector256(w + b * 32 + 32);
            acc0 = Fma.MultiplyAdd(VnniBlock(w0, a, x0 + b * 32, o + b), Vector256.Create(dw[b * a.Ds] * dx[b]), acc0);
            acc1 = Fma.MultiplyAdd(VnniBlock(w1, a, x0 + b * 32 + 32, o + b + 1), Vector256.Create(dw[(b + 1) * a.Ds] * dx[b + 1]), acc1);
        }
        if (b < a.Blocks) acc0 = Fma.MultiplyAdd(VnniBlock(Avx.LoadVector256(w + b * 32), a, x0 + b * 32, o + b), Vector256.Create(dw[b * a.Ds] * dx[b]), acc0);
        return Vector256.Sum(acc0 + acc1);
    }

    static unsafe void Vnni4(byte* w, float* dw, in Act a, int r, Span<float> out4)
    {
        long k = a.K;
        long x0 = r * k;
        int o0 = r * a.Blocks, bs = a.Blocks;
        float* dx = a.Scales;
        Vector256<float> acc0 = Vector256<float>.Zero, acc1 = acc0, acc2 = acc0, acc3 = acc0;
        for (int b = 0; b < bs; b++)
        {
            var wv = Avx.LoadVector256(w + b * 32);
            float s = dw[b * a.Ds];
            long xb = x0 + b * 32;
            int ob = o0 + b;
            acc0 = Fma.MultiplyAdd(VnniBlock(wv, a, xb, ob), Vector256.Create(s * dx[ob]), acc0);
            acc1 = Fma.MultiplyAdd(VnniBlock(wv, a, xb + k, ob + bs), Vector256.Create(s * dx[ob + bs]), acc1);
            acc2 = Fma.MultiplyAdd(VnniBlock(wv, a, xb + 2 * k, ob + 2 * bs), Vector256.Create(s * dx[ob + 2 * bs]), acc2);
            acc3 = Fma.MultiplyAdd(VnniBlock(wv, a, xb + 3 * k, ob + 3 * bs), Vector256.Create(s * dx[ob + 3 * bs]), acc3);
        }
        out4[0] = Vector256.Sum(acc0);
        out4[1] = Vector256.Sum(acc1);
        out4[2] = Vector256.Sum(acc2);
        out4[3] = Vector256.Sum(acc3);
    }

    // llama.cpp's AVX2 trick: pmaddubsw needs one unsigned operand, so multiply |q_x| by q_w carrying q_x's sign
    // (vpsignb); pairs of products stay within int16 (2·127² &lt; 2¹⁵), vpmaddwd by ones widens them to int32.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static unsafe Vector256<float> Avx2Block(Vector256<sbyte> wSigned, in Act a, long xAt)
    {
        var sw = Avx2.Sign(wSigned, Avx.LoadVector256(a.Codes + xAt));
        var p16 = Avx2.MultiplyAddAdjacent(Avx.LoadVector256(a.Abs + xAt), sw);
        return Avx.ConvertToVector256Single(Avx2.MultiplyAddAdjacent(p16, Vector256.Create((short)1)));
    }

    static unsafe float Avx2Row1(byte* w, float* dw, in Act a, int r)
    {
        long x0 = (long)r * a.K;
        float* dx = a.Scales + r * a.Blocks;
        var flip = Vector256.Create((byte)0x80);
        Vector256<float> acc = Vector256<float>.Zero;
        for (int b = 0; b < a.Blocks; b++)
        {
            var ws = Avx2.Xor(Avx.LoadVector256(w + b * 32), flip).AsSByte();
            acc = Fma.MultiplyAdd(Avx2Block(ws, a, x0 + b * 32), Vector256.Create(dw[b * a.Ds] * dx[b]), acc);
        }
        return Vector256.Sum(acc);
    }

    static unsafe void Avx2Rows4(byte* w, float* dw, in Act a, int r, Span<float> out4)
    {
        long k = a.K;
        long x0 = r * k;
        int o0 = r * a.Blocks, bs = a.Blocks;
        float* dx = a.Scales;
        var flip = Vector256.Create((byte)0x80);
        Vector256<float> acc0 = Vector256<float>.Zero, acc1 = acc0, acc2 = acc0, acc3 = acc0;
        for (int b = 0; b < bs; b++)
        {
            var ws = Avx2.Xor(Avx.LoadVector256(w + b * 32), flip).AsSByte();
            float s = dw[b * a.Ds];
            long xb = x0 + b * 32;
            int ob = o0 + b;
            acc0 = Fma.MultiplyAdd(Avx2Block(ws, a, xb), Vector256.Create(s * dx[ob]), acc0);
            acc1 = Fma.MultiplyAdd(Avx2Block(ws, a, xb + k), Vector256.Create(s * dx[ob + bs]), acc1);
            acc2 = Fma.MultiplyAdd(Avx2Block(ws, a, xb + 2 * k), Vector256.Create(s * dx[ob + 2 * bs]), acc2);
            acc3 = Fma.MultiplyAdd(Avx2Block(ws, a, xb + 3 * k), Vector256.Create(s * dx[ob + 3 * bs]), acc3);
        }
        out4[0] = Vector256.Sum(acc0);
        out4[1] = Vector256.Sum(acc1);
        out4[2] = Vector256.Sum(acc2);
        out4[3] = Vector256.Sum(acc3);
    }
}
