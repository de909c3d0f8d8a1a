using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Distill.Tensors.Kernels;

/// <summary>
/// The AVX-512 micro-kernel: a 12×32 tile of C in 24 zmm accumulators (AVX-512 has 32 vector
/// registers; AVX2 has 16, hence its 6×16). Per k: 2 aligned loads of the B micro-panel (32 floats)
/// and 12 broadcasts of A, feeding 24 FMAs — 14 loads per 24 FMAs against the 6×16 kernel's 8 per 12,
/// and each C tile's load/store and each panel's loop overhead amortised over 4× the flops.
/// The shape is BLIS's SkylakeX sgemm kernel (32×12, column-major — the same tile seen from Cᵀ).
/// On Zen 4 a zmm FMA is double-pumped on the two 256-bit FMA pipes, so the peak in flops is AVX2's;
/// what the wider tile buys is fewer loads and less overhead per FMA.
/// </summary>
static partial class MicroKernel
{
    internal const int Avx512Mr = 12;
    internal const int Avx512Nr = 32;

    // Keep the body as it is: the JIT must hold all 24 accumulators in registers across the k loop
    // (check with DOTNET_JitDisasm=Avx512x12x32). A C-prefetch loop added before the k loop made it
    // spill every accumulator to the stack — 3–5× slower (measured, 2026-11-22).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static unsafe void Avx512x12x32(int kc, float* a, float* b, float* c, int ldc, int mr, int nr, float alpha, float beta, bool first)
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector512<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        Vector512<float> c60 = default, c61 = default, c70 = default, c71 = default, c80 = default, c81 = default;
        Vector512<float> c90 = default, c91 = default, c100 = default, c101 = default, c110 = default, c111 = default;
        for (int q = 0; q < kc; q++)
        {
            var b0 = Avx512F.LoadAlignedVector512(b);
            var b1 = Avx512F.LoadAlignedVector512(b + 16);
            var a0 = Vector512.Create(a[0]);
            c00 = Avx512F.FusedMultiplyAdd(a0, b0, c00); c01 = Avx512F.FusedMultiplyAdd(a0, b1, c01);
            var a1 = Vector512.Create(a[1]);
            c10 = Avx512F.FusedMultiplyAdd(a1, b0, c10); c11 = Avx512F.FusedMultiplyAdd(a1, b1, c11);
            var a2 = Vector512.Create(a[2]);
            c20 = Avx512F.FusedMultiplyAdd(a2, b0, c20); c21 = Avx512F.FusedMultiplyAdd(a2, b1, c21);
            var a3 = Vector512.Create(a[3]);
            c30 = Avx512F.FusedMultiplyAdd(a3, b0, c30); c31 = Avx512F.FusedMultiplyAdd(a3, b1, c31);
            var a4 = Vector512.Create(a[4]);
            c40 = Avx512F.FusedMultiplyAdd(a4, b0, c40); c41 = Avx512F.FusedMultiplyAdd(a4, b1, c41);
            var a5 = Vector512.Create(a[5]);
            c50 = Avx512F.FusedMultiplyAdd(a5, b0, c50); c51 = Avx512F.FusedMultiplyAdd(a5, b1, c51);
            var a6 = Vector512.Create(a[6]);
            c60 = Avx512F.FusedMultiplyAdd(a6, b0, c60); c61 = Avx512F.FusedMultiplyAdd(a6, b1, c61);
            var a7 = Vector512.Create(a[7]);
            c70 = Avx512F.FusedMultiplyAdd(a7, b0, c70); c71 = Avx512F.FusedMultiplyAdd(a7, b1, c71);
            var a8 = Vector512.Create(a[8]);
            c80 = Avx512F.FusedMultiplyAdd(a8, b0, c80); c81 = Avx512F.FusedMultiplyAdd(a8, b1, c81);
            var a9 = Vector512.Create(a[9]);
            c90 = Avx512F.FusedMultiplyAdd(a9, b0, c90); c91 = Avx512F.FusedMultiplyAdd(a9, b1, c91);
            var a10 = Vector512.Create(a[10]);
            c100 = Avx512F.FusedMultiplyAdd(a10, b0, c100); c101 = Avx512F.FusedMultiplyAdd(a10, b1, c101);
            var a11 = Vector512.Create(a[11]);
            c110 = Avx512F.FusedMultiplyAdd(a11, b0, c110); c111 = Avx512F.FusedMultiplyAdd(a11, b1, c111);
            a += Avx512Mr; b += Avx512Nr;
        }
        if (mr == Avx512Mr && nr == Avx512Nr)
        {
            StoreRow512(c, c00, c01, alpha, beta, first); c += ldc;
            StoreRow512(c, c10, c11, alpha, beta, first); c += ldc;
            StoreRow512(c, c20, c21, alpha, beta, first); c += ldc;
            StoreRow512(c, c30, c31, alpha, beta, first); c += ldc;
            StoreRow512(c, c40, c41, alpha, beta, first); c += ldc;
            StoreRow512(c, c50, c51, alpha, beta, first); c += ldc;
            StoreRow512(c, c60, c61, alpha, beta, first); c += ldc;
            StoreRow512(c, c70, c71, alpha, beta, first); c += ldc;
            StoreRow512(c, c80, c81, alpha, beta, first); c += ldc;
            StoreRow512(c, c90, c91, alpha, beta, first); c += ldc;
            StoreRow512(c, c100, c101, alpha, beta, first); c += ldc;
            StoreRow512(c, c110, c111, alpha, beta, first);
            return;
        }
        float* tile = stackalloc float[Avx512Mr * Avx512Nr];
        c00.Store(tile + 0); c01.Store(tile + 16);
        c10.Store(tile + 32); c11.Store(tile + 48);
        c20.Store(tile + 64); c21.Store(tile + 80);
        c30.Store(tile + 96); c31.Store(tile + 112);
        c40.Store(tile + 128); c41.Store(tile + 144);
        c50.Store(tile + 160); c51.Store(tile + 176);
        c60.Store(tile + 192); c61.Store(tile + 208);
        c70.Store(tile + 224); c71.Store(tile + 240);
        c80.Store(tile + 256); c81.Store(tile + 272);
        c90.Store(tile + 288); c91.Store(tile + 304);
        c100.Store(tile + 320); c101.Store(tile + 336);
        c110.Store(tile + 352); c111.Store(tile + 368);
        StoreEdge512(tile, c, ldc, mr, nr, alpha, beta, first);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static unsafe void StoreRow512(float* c, Vector512<float> v0, Vector512<float> v1, float alpha, float beta, bool first)
    {
        var va = Vector512.Create(alpha);
        if (!first)
        {
            Avx512F.Store(c, Avx512F.FusedMultiplyAdd(va, v0, Avx512F.LoadVector512(c)));
            Avx512F.Store(c + 16, Avx512F.FusedMultiplyAdd(va, v1, Avx512F.LoadVector512(c + 16)));
        }
        else if (beta == 0f)
        {
            Avx512F.Store(c, va * v0);
            Avx512F.Store(c + 16, va * v1);
        }
        else
        {
            var vb = Vector512.Create(beta);
            Avx512F.Store(c, Avx512F.FusedMultiplyAdd(va, v0, vb * Avx512F.LoadVector512(c)));
            Avx512F.Store(c + 16, Avx512F.FusedMultiplyAdd(va, v1, vb * Avx512F.LoadVector512(c + 16)));
        }
    }

    /// <summary>Edge tile: full-width rows (nr = 32, the bottom panel of M) stay vectorised; narrower ones go scalar.</summary>
    static unsafe void StoreEdge512(float* tile, float* c, int ldc, int mr, int nr, float alpha, float beta, bool first)
    {
        if (nr < Avx512Nr) { StoreEdge(tile, Avx512Nr, c, ldc, mr, nr, alpha, beta, first); return; }
        for (int r = 0; r < mr; r++, c += ldc, tile += Avx512Nr)
            StoreRow512(c, Avx512F.LoadVector512(tile), Avx512F.LoadVector512(tile + 16), alpha, beta, first);
    }
}
