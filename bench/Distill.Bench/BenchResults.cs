namespace Distill.Bench;

/// <summary>
/// One GEMM measurement: C(m×n) = A(m×k)·op(B). backend: "managed" or "blas";
/// layout: "NT" (C = A·Bᵀ, the y = x Wᵀ of a Linear forward) or "NN" (C = A·B).
/// </summary>
public sealed record GemmResult(int M, int K, int N, string Backend, double Gflops, string Layout = "NT");

/// <summary>One training-step measurement (forward + cross-entropy + backward + AdamW).</summary>
public sealed record TrainResult(string Config, double MsPerStep, double TokensPerS, double PeakRssMb);
