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

    internal static bool CanCopyPanelRows(int mr) => Avx.IsSupported && (mr == 6 || mr == 12);

    /// <summary>dst[r] = src[r] for r &lt; mr (6 or 12; see <see cref="CanCopyPanelRows"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static unsafe void CopyPanelRow(float* src, float* dst, int mr)
    {
        if (mr == 12)
        {
            Avx.Store(dst, Avx.LoadVector256(src));
            Sse.Store(dst + 8, Sse.LoadVector128(src + 8));
        }
        else
        {
            Sse.Store(dst, Sse.LoadVector128(src));
            *(double*)(dst + 4) = *(double*)(src + 4);
        }
    }

    /// <summary>dst[q·mr + r] = src[q·ld + r] for r &lt; mr (6 or 12), q &lt; kc: op(A) = Aᵀ rows are already contiguous.</summary>
    internal static unsafe bool TryCopyPanelRows(float* src, int ld, int kc, int mr, float* dst)
    {
        if (!Avx.IsSupported) return false;
        if (mr == 12)
            for (int q = 0; q < kc; q++, src += ld, dst += 12)
            {
                Avx.Store(dst, Avx.LoadVector256(src));
                Sse.Store(dst + 8, Sse.LoadVector128(src + 8));
            }
        else if (mr == 6)
            for (int q = 0; q < kc; q++, src += ld, dst += 6)
            {
                Sse.Store(dst, Sse.LoadVector128(src));
                *(double*)(dst + 4) = *(double*)(src + 4);
            }
        else return false;
        return true;
    }

    /// <summary>
    /// dst[q·nr + c] = src[c·ld + q] for c &lt; cols, 0 for cols ≤ c &lt; nr, q &lt; kc: up to nr rows of B
    /// (stored N×K) become one nr-wide panel. 8×8 register transposes; rows past cols are never read.
    /// Returns false (caller falls back to scalar) when AVX is absent or nr is not a multiple of 8.
    /// </summary>
    internal static unsafe bool TryTransposeRows(float* src, int ld, int kc, int cols, int nr, float* dst)
    {
        if (!Avx.IsSupported || nr % 8 != 0) return false;
        int q0 = 0;
        for (; q0 + 8 <= kc; q0 += 8)
            for (int g = 0; g < nr; g += 8)
            {
                float* s = src + (long)g * ld + q0;
                int valid = cols - g;
                Transpose8x8(
                    Row(s, ld, 0, valid), Row(s, ld, 1, valid), Row(s, ld, 2, valid), Row(s, ld, 3, valid),
                    Row(s, ld, 4, valid), Row(s, ld, 5, valid), Row(s, ld, 6, valid), Row(s, ld, 7, valid),
                    out var t0, out var t1, out var t2, out var t3, out var t4, out var t5, out var t6, out var t7);
                float* d = dst + q0 * nr + g;
                Avx.Store(d, t0); Avx.Store(d + nr, t1); Avx.Store(d + 2 * nr, t2); Avx.Store(d + 3 * nr, t3);
                Avx.Store(d + 4 * nr, t4); Avx.Store(d + 5 * nr, t5); Avx.Store(d + 6 * nr, t6); Avx.Store(d + 7 * nr, t7);
            }
        for (; q0 < kc; q0++)
            for (int c = 0; c < nr; c++) dst[q0 * nr + c] = c < cols ? src[(long)c * ld + q0] : 0f;
        return true;
    }

    /// <summary>
    /// dst[q·mr + r] = src[r·ld + q] for r &lt; rows, 0 for rows ≤ r &lt; mr, q &lt; kc: up to mr rows of A
    /// (stored M×K) become one mr-row panel (mr = 6 or 12). Rows past rows are never read.
    /// </summary>
    internal static unsafe bool TryPackRows(float* src, int ld, int kc, int rows, int mr, float* dst)
    {
        if (!Avx.IsSupported || (mr != 6 && mr != 12)) return false;
        int q0 = 0;
        for (; q0 + 8 <= kc; q0 += 8)
            for (int g = 0; g < mr; g += 8)
            {
                float* s = src + (long)g * ld + q0;
                int valid = rows - g, w = Math.Min(8, mr - g);
                if (w == 4 && valid >= 4)
                {
                    // a 12-row panel's last 4 rows: a 4×8 transpose (8 shuffles) instead of an 8×8 one over 4 zero rows (24)
                    Transpose4x8(s, ld, dst + q0 * mr + g, mr);
                    continue;
                }
                Transpose8x8(
                    Row(s, ld, 0, valid), Row(s, ld, 1, valid), Row(s, ld, 2, valid), Row(s, ld, 3, valid),
                    Row(s, ld, 4, valid), Row(s, ld, 5, valid), Row(s, ld, 6, valid), Row(s, ld, 7, valid),
                    out var t0, out var t1, out var t2, out var t3, out var t4, out var t5, out var t6, out var t7);
                float* d = dst + q0 * mr + g;
                StoreN(d, t0, w); StoreN(d + mr, t1, w); StoreN(d + 2 * mr, t2, w); StoreN(d + 3 * mr, t3, w);
                StoreN(d + 4 * mr, t4, w); StoreN(d + 5 * mr, t5, w); StoreN(d + 6 * mr, t6, w); StoreN(d + 7 * mr, t7, w);
            }
        for (; q0 < kc; q0++)
            for (int r = 0; r < mr; r++) dst[q0 * mr + r] = r < rows ? src[(long)r * ld + q0] : 0f;
        return true;
    }

    /// <summary>Row r of an 8-row group (zero when the operand has only valid rows there).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static unsafe Vector256<float> Row(float* s, int ld, int r, int valid) => r < valid ? Avx.LoadVector256(s + (long)r * ld) : Vector256<float>.Zero;

    /// <summary>Stores the first w lanes (8, 6 or 4) exactly, never touching the neighbours.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static unsafe void StoreN(float* d, Vector256<float> v, int w)
    {
        if (w == 8) Avx.Store(d, v);
        else if (w == 6) Store6(d, v);
        else Sse.Store(d, v.GetLower());
    }

    /// <summary>Stores the first six lanes exactly (4 + 2), never touching the neighbours.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static unsafe void Store6(float* d, Vector256<float> v)
    {
        Sse.Store(d, v.GetLower());
        Sse2.StoreScalar((double*)(d + 4), v.GetUpper().AsDouble());
    }

    /// <summary>dst[j·ldd + i] = src[i·lds + j] for i &lt; 4, j &lt; 8: four rows of 8 floats into eight runs of 4.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static unsafe void Transpose4x8(float* src, long lds, float* dst, long ldd)
    {
        Vector256<float> r0 = Avx.LoadVector256(src), r1 = Avx.LoadVector256(src + lds), r2 = Avx.LoadVector256(src + 2 * lds), r3 = Avx.LoadVector256(src + 3 * lds);
        var u0 = Avx.UnpackLow(r0, r1); var u1 = Avx.UnpackHigh(r0, r1);
        var u2 = Avx.UnpackLow(r2, r3); var u3 = Avx.UnpackHigh(r2, r3);
        var c04 = Avx.Shuffle(u0, u2, 0x44); var c15 = Avx.Shuffle(u0, u2, 0xEE);   // columns 0 | 4, 1 | 5
        var c26 = Avx.Shuffle(u1, u3, 0x44); var c37 = Avx.Shuffle(u1, u3, 0xEE);   // columns 2 | 6, 3 | 7
        Sse.Store(dst, c04.GetLower()); Sse.Store(dst + ldd, c15.GetLower()); Sse.Store(dst + 2 * ldd, c26.GetLower()); Sse.Store(dst + 3 * ldd, c37.GetLower());
        Sse.Store(dst + 4 * ldd, c04.GetUpper()); Sse.Store(dst + 5 * ldd, c15.GetUpper()); Sse.Store(dst + 6 * ldd, c26.GetUpper()); Sse.Store(dst + 7 * ldd, c37.GetUpper());
    }

    /// <summary>dst[j·ldd + i] = src[i·lds + j] for i, j &lt; 8.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static unsafe void Transpose8x8(float* src, long lds, float* dst, long ldd)
    {
        Transpose8x8(
            Avx.LoadVector256(src), Avx.LoadVector256(src + lds), Avx.LoadVector256(src + 2 * lds), Avx.LoadVector256(src + 3 * lds),
            Avx.LoadVector256(src + 4 * lds), Avx.LoadVector256(src + 5 * lds), Avx.LoadVector256(src + 6 * lds), Avx.LoadVector256(src + 7 * lds),
            out var t0, out var t1, out var t2, out var t3, out var t4, out var t5, out var t6, out var t7);
        Avx.Store(dst, t0); Avx.Store(dst + ldd, t1); Avx.Store(dst + 2 * ldd, t2); Avx.Store(dst + 3 * ldd, t3);
        Avx.Store(dst + 4 * ldd, t4); Avx.Store(dst + 5 * ldd, t5); Avx.Store(dst + 6 * ldd, t6); Avx.Store(dst + 7 * ldd, t7);
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
