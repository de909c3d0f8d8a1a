using System.Runtime.Intrinsics.X86;

namespace Distill.Tensors.Kernels;

/// <summary>The instruction set of the packed GEMM's micro-kernel (each has its own register tile MR×NR).</summary>
public enum GemmIsa
{
    /// <summary>Portable scalar loops, 6×16 tile: any CPU.</summary>
    Scalar,
    /// <summary>AVX2 + FMA3, 6×16 tile of 12 ymm accumulators.</summary>
    Avx2,
    /// <summary>AVX-512F, 12×32 tile of 24 zmm accumulators (of the 32 zmm registers).</summary>
    Avx512,
}

/// <summary>
/// Which micro-kernel a GEMM call uses. Default: the best the CPU supports, or DISTILL_GEMM_ISA
/// (scalar | avx2 | avx512) when set — an ISA the CPU lacks falls back to the best it has, with a
/// warning on stderr. Tests set <see cref="Override"/> (this thread only) to run every path on one machine.
/// The choice is made once at the start of a call (<see cref="For"/>) and carried in the call's Problem,
/// so the worker threads of that call use the same kernel and packing geometry.
/// </summary>
public static class GemmIsaSelect
{
    /// <summary>The best kernel this CPU runs.</summary>
    public static GemmIsa Best { get; } =
        Avx512F.IsSupported ? GemmIsa.Avx512 : Fma.IsSupported && Avx2.IsSupported ? GemmIsa.Avx2 : GemmIsa.Scalar;

    static GemmIsa _default = FromEnvironment();

    /// <summary>Process-wide choice (DISTILL_GEMM_ISA or <see cref="Best"/>); settable, e.g. by benchmarks comparing kernels.</summary>
    public static GemmIsa Default
    {
        get => _default;
        set => _default = IsSupported(value) ? value : throw new PlatformNotSupportedException($"GEMM kernel {value} needs instructions this CPU lacks (best here: {Best})");
    }

    /// <summary>Per-thread override (tests): applies to calls started on this thread, including their worker chunks.</summary>
    [ThreadStatic] public static GemmIsa? Override;

    /// <summary>
    /// The kernel for an m×n output. A 12×32 tile over an output at most 16 wide (LoRA's rank-8
    /// projections: n = 8) or 6 tall does at least twice the useful flops; the 6×16 tile wastes half
    /// as much, so such shapes take the AVX2 kernel unless an override forces one.
    /// </summary>
    internal static GemmIsa For(int m, int n)
    {
        if (Override is { } forced) return forced;
        if (_default == GemmIsa.Avx512 && (n <= 16 || m <= 6) && IsSupported(GemmIsa.Avx2)) return GemmIsa.Avx2;
        return _default;
    }

    public static bool IsSupported(GemmIsa isa) => isa switch
    {
        GemmIsa.Avx512 => Avx512F.IsSupported,
        GemmIsa.Avx2 => Fma.IsSupported && Avx2.IsSupported,
        _ => true,
    };

    /// <summary>"scalar", "avx2" or "avx512" (any case, trimmed); null for anything else.</summary>
    public static GemmIsa? Parse(string text) => text.Trim().ToLowerInvariant() switch
    {
        "scalar" => GemmIsa.Scalar,
        "avx2" => GemmIsa.Avx2,
        "avx512" => GemmIsa.Avx512,
        _ => null,
    };

    static GemmIsa FromEnvironment()
    {
        var text = Environment.GetEnvironmentVariable("DISTILL_GEMM_ISA");
        if (string.IsNullOrWhiteSpace(text)) return Best;
        GemmIsa? wanted = Parse(text);
        if (wanted is null)
        {
            Console.Error.WriteLine($"DISTILL_GEMM_ISA='{text}' is not scalar, avx2 or avx512; using {Best}");
            return Best;
        }
        if (!IsSupported(wanted.Value))
        {
            Console.Error.WriteLine($"DISTILL_GEMM_ISA={text}: this CPU lacks it; using {Best}");
            return Best;
        }
        return wanted.Value;
    }
}
