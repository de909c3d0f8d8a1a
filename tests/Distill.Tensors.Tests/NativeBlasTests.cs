using Distill.Tensors.Kernels;

namespace Distill.Tensors.Tests;

/// <summary>A Fact that is skipped, with the reason, on machines without a native BLAS.</summary>
public sealed class NativeBlasFactAttribute : FactAttribute
{
    public NativeBlasFactAttribute()
    {
        if (!NativeBlas.IsAvailable) Skip = "no native BLAS loads here (libopenblas.so.0 / libblas.so.3); the managed GEMM is tested on its own";
    }
}

/// <summary>cblas_sgemm from the system OpenBLAS agrees with the managed GEMM and the reference.</summary>
public class NativeBlasTests
{
    [NativeBlasFact]
    public void Native_equals_reference_on_every_transpose_combination()
    {
        var rng = new Random(21);
        foreach (var (transA, transB) in new[] { (false, false), (false, true), (true, false), (true, true) })
            foreach (var (m, n, k) in new[] { (7, 13, 17), (97, 101, 103), (2, 500, 300) })
                GemmTests.CheckAgainstNaive(rng, transA, transB, m, n, k, 0.75f, 0.5f, 3, (a, lda, b, ldb, c, ldc) =>
                    NativeBlas.Sgemm(transA, transB, m, n, k, 0.75f, a, lda, b, ldb, 0.5f, c, ldc));
    }

    [NativeBlasFact]
    public void Native_and_managed_agree_within_tolerance_and_beta_zero_clears_NaN()
    {
        var rng = new Random(22);
        const int m = 64, n = 384, k = 384;
        var a = GemmTests.Random(rng, m * k);
        var w = GemmTests.Random(rng, n * k);
        var native = new float[m * n];
        var managed = new float[m * n];
        Array.Fill(native, float.NaN);
        Array.Fill(managed, float.NaN);
        NativeBlas.Sgemm(false, true, m, n, k, 1f, a, k, w, k, 0f, native, n);
        Gemm.SgemmManaged(false, true, m, n, k, 1f, a, k, w, k, 0f, managed, n, parallel: true);
        // Both are float32 sums of 384 products of magnitude < 1 with different association;
        // each is within (2·sqrt(k)+4)·u·Σ|a||b| ≈ 44·2^-24·96 ≈ 2.5e-4 of the exact value.
        for (int i = 0; i < native.Length; i++)
            Assert.True(Math.Abs(native[i] - managed[i]) <= 5e-4f, $"element {i}: native {native[i]} managed {managed[i]}");
    }
}
