using System.Runtime.InteropServices;

namespace Distill.Tensors.Kernels;

/// <summary>
/// Optional cblas_sgemm from a system BLAS (OpenBLAS: libopenblas.so.0, else the reference-named
/// libblas.so.3, which Debian's alternatives point at OpenBLAS when it is installed), found at run
/// time with NativeLibrary.TryLoad. Never required: when nothing loads, Distill stays managed.
///
/// DISTILL_BLAS selects the policy:
///   off  — never call it;
///   on   — call it for every Sgemm with m &gt; 1 (m == 1 stays on the managed GEMV, which needs no packing);
///   auto — (default) call it only for shapes where it measured faster than the managed GEMM on this
///          machine (docs/performance.md, "GEMM"); see <see cref="PreferNative"/>.
/// The native path does not promise bit-identical results across thread counts (OpenBLAS chooses
/// its own split); its thread count is set to Workers.Count when it loads.
/// OPENBLAS_CORETYPE in the environment overrides OpenBLAS's own choice of kernels (seen on these machines:
/// OPENBLAS_CORETYPE=Haswell, AVX2 kernels at half the FMA rate of a Zen 5 core, where OpenBLAS left to itself picks
/// its AVX-512 "Cooperlake" kernels); <see cref="Description"/> names it so that benchmark reports show it.
/// </summary>
public static unsafe class NativeBlas
{
    const int RowMajor = 101, NoTrans = 111, Trans = 112;

    static readonly delegate* unmanaged<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void> Cblas;
    static readonly delegate* unmanaged<int, void> SetThreads;

    /// <summary>The library that loaded ("libopenblas.so.0"), or null when none did.</summary>
    public static string? LibraryName { get; }

    public static bool IsAvailable => Cblas != null;

    /// <summary>The library, and OPENBLAS_CORETYPE when the environment forces one, for benchmark reports; null when none loaded.</summary>
    public static string? Description => LibraryName is null ? null
        : Environment.GetEnvironmentVariable("OPENBLAS_CORETYPE") is { Length: > 0 } forced ? $"{LibraryName} (OPENBLAS_CORETYPE={forced} from the environment)"
        : LibraryName;

    /// <summary>off | on | auto, from DISTILL_BLAS (auto when unset or unrecognised). Settable for tests and benchmarks.</summary>
    public static string Mode { get; set; } = (Environment.GetEnvironmentVariable("DISTILL_BLAS") ?? "auto").Trim().ToLowerInvariant() switch
    {
        "off" or "0" or "false" => "off",
        "on" or "1" or "true" => "on",
        _ => "auto",
    };

    static int _threads;

    static NativeBlas()
    {
        foreach (var name in new[] { "libopenblas.so.0", "libopenblas.so", "libblas.so.3", "libopenblas.dll", "libopenblas.dylib" })
        {
            if (!NativeLibrary.TryLoad(name, out var handle)) continue;
            if (!NativeLibrary.TryGetExport(handle, "cblas_sgemm", out var sgemm)) continue;
            Cblas = (delegate* unmanaged<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void>)sgemm;
            if (NativeLibrary.TryGetExport(handle, "openblas_set_num_threads", out var set))
                SetThreads = (delegate* unmanaged<int, void>)set;
            LibraryName = name;
            break;
        }
    }

    /// <summary>Whether Gemm.Sgemm should hand this shape to the native library under the current Mode.</summary>
    public static bool ShouldUse(int m, int n, int k) => Mode switch
    {
        "off" => false,
        "on" => IsAvailable && m > 1,
        _ => IsAvailable && m > 1 && PreferNative(m, n, k),
    };

    /// <summary>
    /// The auto policy. Measured interleaved on this machine (docs/performance.md, "GEMM"), the managed
    /// GEMM is within noise of OpenBLAS or faster on every transformer shape at 1 and 2 threads, and
    /// OpenBLAS's own thread pool competes with Workers', so auto keeps everything managed.
    /// </summary>
    static bool PreferNative(int m, int n, int k) => false;

    /// <summary>cblas_sgemm with Distill's argument order; the caller has validated the operands.</summary>
    public static void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc)
    {
        if (Cblas == null) throw new InvalidOperationException("NativeBlas.Sgemm: no native BLAS loaded (install libopenblas0)");
        Gemm.Validate(transA, transB, m, n, k, a, lda, b, ldb, c, ldc);
        if (m == 0 || n == 0) return;
        int threads = Threading.Workers.Count;
        if (SetThreads != null && threads != _threads) { SetThreads(threads); _threads = threads; }
        fixed (float* pa = a, pb = b, pc = c)
            Cblas(RowMajor, transA ? Trans : NoTrans, transB ? Trans : NoTrans, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc);
    }
}
