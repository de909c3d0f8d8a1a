using System.Diagnostics;
using Distill.Tensors.Kernels;

namespace Distill.Bench;

/// <summary>
/// GEMM throughput, GFLOPS = 2·M·N·K / seconds. The backends of one shape are measured interleaved:
/// sample s of every backend runs before sample s + 1 of any, each sample repeating the call for at
/// least a minimum time after a warm-up, and the median sample is reported — so a burst of load from
/// other processes hits all backends alike and the ratios stay meaningful on a shared machine.
/// Layouts (alpha = 1, beta = 0), as a Linear layer of a training step uses them:
///   "NT": C = A·Bᵀ, B stored N×K  (y = x Wᵀ, W stored [out, in]: the forward);
///   "NN": C = A·B,  B stored K×N  (dX = dY·W: the input gradient);
///   "TN": C = Aᵀ·B, A stored K×M  (dW = dYᵀ·X: the weight gradient).
/// </summary>
public static class GemmBench
{
    /// <summary>Square sizes, then transformer shapes M×K×N (bench-small and gpt2-124M layers).</summary>
    public static IReadOnlyList<(int M, int K, int N)> Shapes { get; } =
    [
        (256, 256, 256), (512, 512, 512), (1024, 1024, 1024), (2048, 2048, 2048),
        (512, 384, 1152), (512, 384, 384), (512, 1536, 384), (1024, 768, 3072),
    ];

    public static IReadOnlyList<string> Layouts { get; } = ["NT", "NN", "TN"];

    /// <summary>
    /// The training-path attention GEMMs of bench-small (T = 128, head dim 64, B·H = 8·6 = 48 items):
    /// S = q·kᵀ and dP = dO·vᵀ (NT, 128×64×128), out = P·v and dq = dS·k (NN, 128×128×64), dv = Pᵀ·dO
    /// and dk = dSᵀ·q (TN, 128×128×64). Managed runs them as one SgemmBatched (items split across
    /// threads); BLAS as one cblas_sgemm per item, as a caller without a batched BLAS would.
    /// </summary>
    public static IReadOnlyList<(int Batch, int M, int K, int N, string Layout)> AttentionShapes { get; } =
    [
        (48, 128, 64, 128, "NT"), (48, 128, 128, 64, "NN"), (48, 128, 128, 64, "TN"),
    ];

    /// <summary>Backends that can run here: "managed" always, "blas" when a native BLAS loaded.</summary>
    public static IReadOnlyList<string> Backends => NativeBlas.IsAvailable ? ["managed", "blas"] : ["managed"];

    /// <summary>One backend alone (see <see cref="MeasureInterleaved"/>).</summary>
    public static GemmResult Measure(int m, int k, int n, string backend, string layout = "NT", int samples = 5, double minSampleSeconds = 0.25)
        => MeasureInterleaved(m, k, n, layout, [(backend, null)], samples, minSampleSeconds)[0];

    /// <summary>
    /// Every (backend, isa) pair on one shape, samples interleaved; isa null = the process default
    /// (GemmIsaSelect.Default) for "managed", ignored for "blas".
    /// </summary>
    public static IReadOnlyList<GemmResult> MeasureInterleaved(int m, int k, int n, string layout,
        IReadOnlyList<(string Backend, GemmIsa? Isa)> runs, int samples = 5, double minSampleSeconds = 0.25, int batch = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batch, 1);
        var (transA, transB) = layout switch
        {
            "NT" => (false, true),
            "NN" => (false, false),
            "TN" => (true, false),
            _ => throw new ArgumentException($"GemmBench: layout must be NT, NN or TN, not '{layout}'", nameof(layout)),
        };
        foreach (var (backend, isa) in runs)
        {
            if (backend is not ("managed" or "blas")) throw new ArgumentException($"GemmBench: backend must be managed or blas, not '{backend}'", nameof(runs));
            if (backend == "blas" && !NativeBlas.IsAvailable) throw new InvalidOperationException("GemmBench: no native BLAS loaded");
            if (isa is { } i && !GemmIsaSelect.IsSupported(i)) throw new PlatformNotSupportedException($"GemmBench: this CPU cannot run the {i} kernel");
        }
        var rng = new Random(42);
        var a = new float[batch * m * k];
        var b = new float[batch * k * n];
        var c = new float[batch * m * n];
        for (int i = 0; i < a.Length; i++) a[i] = (float)(rng.NextDouble() - 0.5);
        for (int i = 0; i < b.Length; i++) b[i] = (float)(rng.NextDouble() - 0.5);
        int lda = transA ? m : k, ldb = transB ? k : n;
        void Call(string backend, GemmIsa? isa)
        {
            if (backend == "blas")
            {
                for (int i = 0; i < batch; i++)
                    NativeBlas.Sgemm(transA, transB, m, n, k, 1f, a.AsSpan(i * m * k), lda, b.AsSpan(i * k * n), ldb, 0f, c.AsSpan(i * m * n), n);
                return;
            }
            GemmIsaSelect.Override = isa;
            try
            {
                if (batch == 1) Gemm.SgemmManaged(transA, transB, m, n, k, 1f, a, lda, b, ldb, 0f, c, n);
                else Gemm.SgemmBatched(transA, transB, m, n, k, 1f, a, lda, m * k, b, ldb, k * n, 0f, c, n, m * n, batch);
            }
            finally { GemmIsaSelect.Override = null; }
        }
        // Warm-up: JIT tiers, packing buffers, worker threads, caches.
        foreach (var (backend, isa) in runs)
        {
            var warm = Stopwatch.StartNew();
            do Call(backend, isa); while (warm.Elapsed.TotalSeconds < 0.3);
        }
        var gflops = new double[runs.Count, samples];
        double flop = 2.0 * m * n * k * batch;
        for (int s = 0; s < samples; s++)
            for (int r = 0; r < runs.Count; r++)
            {
                int calls = 0;
                var watch = Stopwatch.StartNew();
                do { Call(runs[r].Backend, runs[r].Isa); calls++; } while (watch.Elapsed.TotalSeconds < minSampleSeconds);
                gflops[r, s] = flop * calls / watch.Elapsed.TotalSeconds / 1e9;
            }
        var results = new GemmResult[runs.Count];
        for (int r = 0; r < runs.Count; r++)
        {
            var row = Enumerable.Range(0, samples).Select(s => gflops[r, s]).Order().ToArray();
            string? isaName = runs[r].Backend == "managed" ? (runs[r].Isa ?? GemmIsaSelect.Default).ToString().ToLowerInvariant() : null;
            results[r] = new GemmResult(m, k, n, runs[r].Backend, row[samples / 2], layout, isaName, row[^1], batch);
        }
        return results;
    }
}
