using System.Diagnostics;
using Distill.Tensors.Kernels;

namespace Distill.Bench;

/// <summary>
/// GEMM throughput, GFLOPS = 2·M·N·K / seconds: median of several samples, each sample repeating the
/// call for at least a minimum time after warm-up (as ../shared/bench/sgemm_bench.c measures OpenBLAS).
/// Layouts: "NT" is C = A·Bᵀ with B stored N×K (y = x Wᵀ, W stored [out, in]: every Linear forward),
/// "NN" is C = A·B. alpha = 1, beta = 0.
/// </summary>
public static class GemmBench
{
    /// <summary>Square sizes, then transformer shapes M×K×N (bench-small and gpt2-124M layers).</summary>
    public static IReadOnlyList<(int M, int K, int N)> Shapes { get; } =
    [
        (256, 256, 256), (512, 512, 512), (1024, 1024, 1024), (2048, 2048, 2048),
        (512, 384, 1152), (512, 384, 384), (512, 1536, 384), (1024, 768, 3072),
    ];

    /// <summary>Backends that can run here: "managed" always, "blas" when a native BLAS loaded.</summary>
    public static IReadOnlyList<string> Backends => NativeBlas.IsAvailable ? ["managed", "blas"] : ["managed"];

    public static GemmResult Measure(int m, int k, int n, string backend, string layout = "NT", int samples = 5, double minSampleSeconds = 0.25)
    {
        bool transB = layout switch
        {
            "NT" => true,
            "NN" => false,
            _ => throw new ArgumentException($"GemmBench: layout must be NT or NN, not '{layout}'", nameof(layout)),
        };
        if (backend is not ("managed" or "blas")) throw new ArgumentException($"GemmBench: backend must be managed or blas, not '{backend}'", nameof(backend));
        if (backend == "blas" && !NativeBlas.IsAvailable) throw new InvalidOperationException("GemmBench: no native BLAS loaded");
        var rng = new Random(42);
        var a = new float[m * k];
        var b = new float[k * n];
        var c = new float[m * n];
        for (int i = 0; i < a.Length; i++) a[i] = (float)(rng.NextDouble() - 0.5);
        for (int i = 0; i < b.Length; i++) b[i] = (float)(rng.NextDouble() - 0.5);
        int ldb = transB ? k : n;
        void Call()
        {
            if (backend == "blas") NativeBlas.Sgemm(false, transB, m, n, k, 1f, a, k, b, ldb, 0f, c, n);
            else Gemm.SgemmManaged(false, transB, m, n, k, 1f, a, k, b, ldb, 0f, c, n);
        }
        // Warm-up: JIT tiers, packing buffers, worker threads, caches.
        var warm = Stopwatch.StartNew();
        do Call(); while (warm.Elapsed.TotalSeconds < 0.3);
        var gflops = new double[samples];
        double flop = 2.0 * m * n * k;
        for (int s = 0; s < samples; s++)
        {
            int calls = 0;
            var watch = Stopwatch.StartNew();
            do { Call(); calls++; } while (watch.Elapsed.TotalSeconds < minSampleSeconds);
            gflops[s] = flop * calls / watch.Elapsed.TotalSeconds / 1e9;
        }
        Array.Sort(gflops);
        return new GemmResult(m, k, n, backend, gflops[samples / 2], layout);
    }
}
