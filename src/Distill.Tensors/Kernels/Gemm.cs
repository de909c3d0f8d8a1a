namespace Distill.Tensors.Kernels;

/// <summary>
/// Single-precision GEMM, row-major: C = alpha · op(A) · op(B) + beta · C.
/// op(A) is A (stored M×K, row stride lda) or Aᵀ (A stored K×M); op(B) is B (stored K×N, ldb) or
/// Bᵀ (B stored N×K — the layout of y = x Wᵀ with W stored [out, in] as PyTorch keeps it).
/// beta = 0 overwrites C without reading it (so C may hold garbage, NaN included), as BLAS does.
/// </summary>
public static partial class Gemm
{
    public static void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc)
        => SgemmNaive(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);

    /// <summary>Scalar reference with double accumulation: the oracle the fast paths are tested against.</summary>
    public static void SgemmNaive(bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc)
    {
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double s = 0;
                for (int p = 0; p < k; p++)
                {
                    float av = transA ? a[p * lda + i] : a[i * lda + p];
                    float bv = transB ? b[j * ldb + p] : b[p * ldb + j];
                    s += (double)av * bv;
                }
                float prev = beta == 0f ? 0f : beta * c[i * ldc + j];
                c[i * ldc + j] = (float)(alpha * s) + prev;
            }
    }
}
