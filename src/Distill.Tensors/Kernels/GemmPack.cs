using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Distill.Tensors.Kernels;

/// <summary>
/// Packing helpers of the GEMM: row copies and 8×8 AVX transposes that turn row-major operands into
/// the micro-kernel's panel layouts. Transposing is needed for op(B) = Wᵀ (the y = x Wᵀ layout) and
/// for op(A) = A; done in 8×8 register blocks it costs about a third of the scalar gather (measured
/// on 512×384×1152 NT: see docs/performance.md).
/// </summary>
static class GemmPack
{
    /// <summary>dst[q·width + c] = src[q·ld + c] for q &lt; rows, c &lt; width (width a multiple of 8).</summary>
    internal static unsafe void CopyRows(float* src, int ld, int rows, int width, float* dst)
    {
        for (int q = 0; q < rows; q++, src += ld, dst += width)
            for (int c = 0; c < width; c += 8)
                Vector256.Store(Vector256.Load(src + c), dst + c);
    }

    /// <summary>
    /// dst[q·16 + c] = src[c·ld + q] for c &lt; 16, q &lt; kc: 16 rows of B become a 16-wide panel.
    /// Returns false (caller falls back to scalar) when AVX is absent.
    /// </summary>
    internal static unsafe bool TryTransposeRows(float* src, int ld, int kc, int nr, float* dst)
    {
        if (!Avx.IsSupported || nr != 16) return false;
        int q0 = 0;
        for (; q0 + 8 <= kc; q0 += 8)
            for (int half = 0; half < 16; half += 8)
            {
                float* s = src + (long)half * ld + q0;
                Transpose8x8(
                    Avx.LoadVector256(s), Avx.LoadVector256(s + ld), Avx.LoadVector256(s + 2L * ld), Avx.LoadVector256(s + 3L * ld),
                    Avx.LoadVector256(s + 4L * ld), Avx.LoadVector256(s + 5L * ld), Avx.LoadVector256(s + 6L * ld), Avx.LoadVector256(s + 7L * ld),
                    out var t0, out var t1, out var t2, out var t3, out var t4, out var t5, out var t6, out var t7);
                float* d = dst + q0 * 16 + half;
                Avx.Store(d, t0); Avx.Store(d + 16, t1); Avx.Store(d + 32, t2); Avx.Store(d + 48, t3);
                Avx.Store(d + 64, t4); Avx.Store(d + 80, t5); Avx.Store(d + 96, t6); Avx.Store(d + 112, t7);
            }
        for (; q0 < kc; q0++)
            for (int c = 0; c < 16; c++) dst[q0 * 16 + c] = src[(long)c * ld + q0];
        return true;
    }

    /// <summary>dst[q·6 + r] = src[r·ld + q] for r &lt; 6, q &lt; kc: six rows of A become one 6-row panel.</summary>
    internal static unsafe bool TryPackRows6(float* src, int ld, int kc, float* dst)
    {
        if (!Avx.IsSupported) return false;
        int q0 = 0;
        var zero = Vector256<float>.Zero;
        for (; q0 + 8 <= kc; q0 += 8)
        {
            float* s = src + q0;
            Transpose8x8(
                Avx.LoadVector256(s), Avx.LoadVector256(s + ld), Avx.LoadVector256(s + 2L * ld), Avx.LoadVector256(s + 3L * ld),
                Avx.LoadVector256(s + 4L * ld), Avx.LoadVector256(s + 5L * ld), zero, zero,
                out var t0, out var t1, out var t2, out var t3, out var t4, out var t5, out var t6, out var t7);
            float* d = dst + q0 * 6;
            Store6(d, t0); Store6(d + 6, t1); Store6(d + 12, t2); Store6(d + 18, t3);
            Store6(d + 24, t4); Store6(d + 30, t5); Store6(d + 36, t6); Store6(d + 42, t7);
        }
        for (; q0 < kc; q0++)
            for (int r = 0; r < 6; r++) dst[q0 * 6 + r] = src[(long)r * ld + q0];
        return true;
    }

    /// <summary>Stores the first six lanes exactly (4 + 2), never touching the neighbours.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static unsafe void Store6(float* d, Vector256<float> v)
    {
        Sse.Store(d, v.GetLower());
        Sse2.StoreScalar((double*)(d + 4), v.GetUpper().AsDouble());
    }

    /// <summary>The classic unpack/shuffle/permute 8×8 transpose: output t_j = column j of rows r0..r7.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Transpose8x8(
        Vector256<float> r0, Vector256<float> r1, Vector256<float> r2, Vector256<float> r3,
        Vector256<float> r4, Vector256<float> r5, Vector256<float> r6, Vector256<float> r7,
        out Vector256<float> t0, out Vector256<float> t1, out Vector256<float> t2, out Vector256<float> t3,
        out Vector256<float> t4, out Vector256<float> t5, out Vector256<float> t6, out Vector256<float> t7)
    {
        var u0 = Avx.UnpackLow(r0, r1); var u1 = Avx.UnpackHigh(r0, r1);
        var u2 = Avx.UnpackLow(r2, r3); var u3 = Avx.UnpackHigh(r2, r3);
        var u4 = Avx.UnpackLow(r4, r5); var u5 = Avx.UnpackHigh(r4, r5);
        var u6 = Avx.UnpackLow(r6, r7); var u7 = Avx.UnpackHigh(r6, r7);
        var s0 = Avx.Shuffle(u0, u2, 0x44); var s1 = Avx.Shuffle(u0, u2, 0xEE);
        var s2 = Avx.Shuffle(u1, u3, 0x44); var s3 = Avx.Shuffle(u1, u3, 0xEE);
        var s4 = Avx.Shuffle(u4, u6, 0x44); var s5 = Avx.Shuffle(u4, u6, 0xEE);
        var s6 = Avx.Shuffle(u5, u7, 0x44); var s7 = Avx.Shuffle(u5, u7, 0xEE);
        t0 = Avx.Permute2x128(s0, s4, 0x20); t1 = Avx.Permute2x128(s1, s5, 0x20);
        t2 = Avx.Permute2x128(s2, s6, 0x20); t3 = Avx.Permute2x128(s3, s7, 0x20);
        t4 = Avx.Permute2x128(s0, s4, 0x31); t5 = Avx.Permute2x128(s1, s5, 0x31);
        t6 = Avx.Permute2x128(s2, s6, 0x31); t7 = Avx.Permute2x128(s3, s7, 0x31);
    }
}

/// <summary>
/// Per-thread packing buffers: pinned arrays (freed with their thread), 64-byte aligned, grown on
/// demand and then reused, so GEMM calls allocate nothing after warm-up.
/// </summary>
static class PackBuffers
{
    [ThreadStatic] static float[]? _a, _aShared, _b, _x;

    /// <summary>This thread's A block (MC×KC).</summary>
    internal static unsafe float* A(int floats) => Get(ref _a, floats);

    /// <summary>The caller's whole packed A when threads split columns (M small).</summary>
    internal static unsafe float* AShared(int floats) => Get(ref _aShared, floats);

    /// <summary>The caller's packed B block (KC×NC), read by every worker of the call.</summary>
    internal static unsafe float* B(int floats) => Get(ref _b, floats);

    /// <summary>A contiguous copy of a strided vector (GEMV with op(A) = Aᵀ).</summary>
    internal static unsafe float* X(int floats) => Get(ref _x, floats);

    static unsafe float* Get(ref float[]? buffer, int floats)
    {
        const int slack = 16; // room to align to 64 bytes
        if (buffer is null || buffer.Length < floats + slack)
            buffer = GC.AllocateUninitializedArray<float>(Math.Max(floats, 1024) + slack, pinned: true);
        float* p = (float*)Unsafe.AsPointer(ref buffer[0]);
        return (float*)(((nuint)p + 63) & ~(nuint)63);
    }
}
