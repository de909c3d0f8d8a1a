using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Distill.Tensors.Kernels;

/// <summary>
/// The GEMM micro-kernels: an MR×NR tile of C held in registers while KC rank-1 updates stream
/// through a packed A micro-panel (KC×MR) and a packed B micro-panel (KC×NR).
///   Fma6x16    — AVX2 + FMA3 through Vector256: 12 accumulators (6 rows × 2 vectors), 2 B loads and
///                6 broadcasts per k, so 12 FMAs per 8 loads (BLIS's Haswell/Zen shape).
///   Avx512x12x32 (GemmKernelAvx512.cs) — 24 zmm accumulators, 24 FMAs per 2 B loads + 12 broadcasts.
///   Scalar     — the portable fallback (no FMA/AVX2: ARM, old x86), 6×16 tile.
/// Edge tiles (mr &lt; MR or nr &lt; NR) are computed whole (the panels are zero-padded) into a stack tile
/// and only the valid part is written.
/// </summary>
static partial class MicroKernel
{
    internal const int MR = 6;
    internal const int NR = 16;
    /// <summary>The largest tile of any kernel (stack tiles for edges).</summary>
    internal const int MaxTile = 12 * 32;

    /// <summary>Register tile of each kernel: rows of A (broadcast) × columns of B (vector lanes).</summary>
    internal static (int Mr, int Nr) Tile(GemmIsa isa) => isa == GemmIsa.Avx512 ? (Avx512Mr, Avx512Nr) : (MR, NR);

    internal static unsafe void Run(GemmIsa isa, int kc, float* a, float* b, float* c, int ldc, int mr, int nr, float alpha, float beta, bool first)
    {
        if (isa == GemmIsa.Avx512) Avx512x12x32(kc, a, b, c, ldc, mr, nr, alpha, beta, first);
        else if (isa == GemmIsa.Avx2) Fma6x16(kc, a, b, c, ldc, mr, nr, alpha, beta, first);
        else Scalar(kc, a, b, c, ldc, mr, nr, alpha, beta, first);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static unsafe void Fma6x16(int kc, float* a, float* b, float* c, int ldc, int mr, int nr, float alpha, float beta, bool first)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (int q = 0; q < kc; q++)
        {
            var b0 = Avx.LoadAlignedVector256(b);
            var b1 = Avx.LoadAlignedVector256(b + 8);
            var a0 = Vector256.Create(a[0]);
            c00 = Fma.MultiplyAdd(a0, b0, c00); c01 = Fma.MultiplyAdd(a0, b1, c01);
            var a1 = Vector256.Create(a[1]);
            c10 = Fma.MultiplyAdd(a1, b0, c10); c11 = Fma.MultiplyAdd(a1, b1, c11);
            var a2 = Vector256.Create(a[2]);
            c20 = Fma.MultiplyAdd(a2, b0, c20); c21 = Fma.MultiplyAdd(a2, b1, c21);
            var a3 = Vector256.Create(a[3]);
            c30 = Fma.MultiplyAdd(a3, b0, c30); c31 = Fma.MultiplyAdd(a3, b1, c31);
            var a4 = Vector256.Create(a[4]);
            c40 = Fma.MultiplyAdd(a4, b0, c40); c41 = Fma.MultiplyAdd(a4, b1, c41);
            var a5 = Vector256.Create(a[5]);
            c50 = Fma.MultiplyAdd(a5, b0, c50); c51 = Fma.MultiplyAdd(a5, b1, c51);
            a += MR; b += NR;
        }
        if (mr == MR && nr == NR)
        {
            StoreRow(c, c00, c01, alpha, beta, first); c += ldc;
            StoreRow(c, c10, c11, alpha, beta, first); c += ldc;
            StoreRow(c, c20, c21, alpha, beta, first); c += ldc;
            StoreRow(c, c30, c31, alpha, beta, first); c += ldc;
            StoreRow(c, c40, c41, alpha, beta, first); c += ldc;
            StoreRow(c, c50, c51, alpha, beta, first);
            return;
        }
        float* tile = stackalloc float[MR * NR];
        c00.Store(tile); c01.Store(tile + 8); c10.Store(tile + 16); c11.Store(tile + 24);
        c20.Store(tile + 32); c21.Store(tile + 40); c30.Store(tile + 48); c31.Store(tile + 56);
        c40.Store(tile + 64); c41.Store(tile + 72); c50.Store(tile + 80); c51.Store(tile + 88);
        StoreEdge(tile, NR, c, ldc, mr, nr, alpha, beta, first);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static unsafe void StoreRow(float* c, Vector256<float> v0, Vector256<float> v1, float alpha, float beta, bool first)
    {
        var va = Vector256.Create(alpha);
        if (!first)
        {
            Avx.Store(c, Fma.MultiplyAdd(va, v0, Avx.LoadVector256(c)));
            Avx.Store(c + 8, Fma.MultiplyAdd(va, v1, Avx.LoadVector256(c + 8)));
        }
        else if (beta == 0f)
        {
            Avx.Store(c, va * v0);
            Avx.Store(c + 8, va * v1);
        }
        else
        {
            var vb = Vector256.Create(beta);
            Avx.Store(c, Fma.MultiplyAdd(va, v0, vb * Avx.LoadVector256(c)));
            Avx.Store(c + 8, Fma.MultiplyAdd(va, v1, vb * Avx.LoadVector256(c + 8)));
        }
    }

    /// <summary>Writes the valid mr×nr corner of a full MR×NR tile into C, with the same update rule.</summary>
    static unsafe void StoreEdge(float* tile, int ldt, float* c, int ldc, int mr, int nr, float alpha, float beta, bool first)
    {
        for (int r = 0; r < mr; r++, c += ldc, tile += ldt)
            for (int j = 0; j < nr; j++)
            {
                float acc = tile[j];
                c[j] = !first ? MathF.FusedMultiplyAdd(alpha, acc, c[j])
                    : beta == 0f ? alpha * acc
                    : MathF.FusedMultiplyAdd(alpha, acc, beta * c[j]);
            }
    }

    /// <summary>Portable fallback: the same tile in a stack buffer, plain multiply-adds.</summary>
    static unsafe void Scalar(int kc, float* a, float* b, float* c, int ldc, int mr, int nr, float alpha, float beta, bool first)
    {
        float* tile = stackalloc float[MR * NR];
        new Span<float>(tile, MR * NR).Clear();
        for (int q = 0; q < kc; q++, a += MR, b += NR)
            for (int r = 0; r < MR; r++)
            {
                float ar = a[r];
                float* t = tile + r * NR;
                for (int j = 0; j < NR; j++) t[j] += ar * b[j];
            }
        StoreEdge(tile, NR, c, ldc, mr, nr, alpha, beta, first);
    }
}
