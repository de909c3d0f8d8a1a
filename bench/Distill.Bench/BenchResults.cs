namespace Distill.Bench;

/// <summary>One GEMM measurement: C(m×n) = A(m×k)·B(k×n). backend: "managed" or "blas".</summary>
public sealed record GemmResult(int M, int K, int N, string Backend, double Gflops);

/// <summary>One training-step measurement (forward + cross-entropy + backward + AdamW).</summary>
public sealed record TrainResult(string Config, double MsPerStep, double TokensPerS, double PeakRssMb);
