namespace Distill.Tensors.Kernels;

/// <summary>
/// Opt-in count of the arithmetic the matrix products do: 2·m·n·k floating-point operations per product (a multiply and
/// an add per term), whichever path runs it — the packed GEMM, the skinny LoRA paths, the native BLAS, an inference
/// format's product. The attention's tile kernels and decode attention's calls of the micro-kernel are not counted, so
/// the count is a lower bound on a step's arithmetic. Benchmarks set it beside the machine's FMA peak: a step's products
/// cannot take less than flops / peak (`distill bench train`, `bench sample`). Off, it costs each product call a branch.
/// </summary>
public static class GemmWork
{
    static long _flops;

    /// <summary>Whether products add to <see cref="Flops"/> (off by default).</summary>
    public static bool Counting { get; set; }

    /// <summary>Floating-point operations counted since the last <see cref="Reset"/>.</summary>
    public static long Flops => Interlocked.Read(ref _flops);

    public static void Reset() => Interlocked.Exchange(ref _flops, 0);

    /// <summary>Books <paramref name="count"/> products of m × n × k (a caller on any thread).</summary>
    internal static void Add(long m, long n, long k, long count = 1)
    {
        if (Counting) Interlocked.Add(ref _flops, 2 * m * n * k * count);
    }
}
