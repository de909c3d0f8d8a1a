namespace Distill.Bench;

/// <summary>
/// One GEMM measurement: C(m×n) = op(A)·op(B), op(A) m×k. backend: "managed" or "blas"; isa: the managed
/// micro-kernel (avx512, avx2, scalar), null for blas; layout: "NT" (C = A·Bᵀ, the y = x Wᵀ of a Linear
/// forward), "NN" (C = A·B, dX = dY·W) or "TN" (C = Aᵀ·B, dW = dYᵀ·X). Gflops is the median sample,
/// BestGflops the fastest (the less load-sensitive figure on a shared machine). Batch &gt; 1: that many
/// independent GEMMs of the shape per call (the attention heads), flops counted over all of them.
/// </summary>
public sealed record GemmResult(int M, int K, int N, string Backend, double Gflops, string Layout = "NT", string? Isa = null, double BestGflops = double.NaN, int Batch = 1);

/// <summary>One training-step measurement (forward + cross-entropy + backward + AdamW).</summary>
public sealed record TrainResult(string Config, double MsPerStep, double TokensPerS, double PeakRssMb);
