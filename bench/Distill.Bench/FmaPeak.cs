using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Distill.Tensors.Threading;

namespace Distill.Bench;

/// <summary>
/// The machine's float32 FMA peak: each thread issues fused multiply-adds into 24 independent accumulators (the 12×32
/// micro-kernel's register tile: enough chains to cover the FMA latency on every pipe) with no memory traffic at all, so
/// the rate is the core's FMA throughput × its clock at this moment. 512-bit FMAs where AVX-512 is present, else 256-bit
/// (FMA3), else 0. No product of matrices can run faster; a step's counted products (<see cref="Tensors.Kernels.GemmWork"/>)
/// divided by it are that step's floor.
/// </summary>
public static class FmaPeak
{
    /// <summary>Best and median GFLOPS (10⁹ float operations/s, an FMA counting 2 per lane) over <paramref name="passes"/> passes of ≈ 0.15 s on <see cref="Workers.Count"/> threads.</summary>
    public static (double Best, double Median) Measure(int passes = 5, long iterations = 20_000_000)
    {
        int lanes = Avx512F.IsSupported ? 16 : Fma.IsSupported ? 8 : 0;
        if (lanes == 0) return (0, 0);
        var body = new Chains { Iterations = iterations };
        Workers.For(Workers.Count, new Chains { Iterations = iterations / 100 }); // JIT and wake-up
        var rates = new List<double>();
        for (int i = 0; i < passes; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            Workers.For(Workers.Count, body);
            rates.Add(Workers.Count * iterations * 24.0 * lanes * 2 / Stopwatch.GetElapsedTime(t0).TotalSeconds / 1e9);
        }
        rates.Sort();
        return (rates[^1], rates[rates.Count / 2]);
    }

    struct Chains : IRangeBody
    {
        public long Iterations;
        public static float Sink;

        public readonly void Run(int begin, int end)
        {
            for (int t = begin; t < end; t++) Sink += Avx512F.IsSupported ? Run512(Iterations) : Run256(Iterations);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    static float Run512(long n)
    {
        var a = Vector512.Create(1.0000001f);
        var b = Vector512.Create(0.9999999f);
        Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default, c7 = default,
            c8 = default, c9 = default, c10 = default, c11 = default, c12 = default, c13 = default, c14 = default, c15 = default,
            c16 = default, c17 = default, c18 = default, c19 = default, c20 = default, c21 = default, c22 = default, c23 = default;
        for (long i = 0; i < n; i++)
        {
            c0 = Avx512F.FusedMultiplyAdd(a, b, c0); c1 = Avx512F.FusedMultiplyAdd(a, b, c1); c2 = Avx512F.FusedMultiplyAdd(a, b, c2);
            c3 = Avx512F.FusedMultiplyAdd(a, b, c3); c4 = Avx512F.FusedMultiplyAdd(a, b, c4); c5 = Avx512F.FusedMultiplyAdd(a, b, c5);
            c6 = Avx512F.FusedMultiplyAdd(a, b, c6); c7 = Avx512F.FusedMultiplyAdd(a, b, c7); c8 = Avx512F.FusedMultiplyAdd(a, b, c8);
            c9 = Avx512F.FusedMultiplyAdd(a, b, c9); c10 = Avx512F.FusedMultiplyAdd(a, b, c10); c11 = Avx512F.FusedMultiplyAdd(a, b, c11);
            c12 = Avx512F.FusedMultiplyAdd(a, b, c12); c13 = Avx512F.FusedMultiplyAdd(a, b, c13); c14 = Avx512F.FusedMultiplyAdd(a, b, c14);
            c15 = Avx512F.FusedMultiplyAdd(a, b, c15); c16 = Avx512F.FusedMultiplyAdd(a, b, c16); c17 = Avx512F.FusedMultiplyAdd(a, b, c17);
            c18 = Avx512F.FusedMultiplyAdd(a, b, c18); c19 = Avx512F.FusedMultiplyAdd(a, b, c19); c20 = Avx512F.FusedMultiplyAdd(a, b, c20);
            c21 = Avx512F.FusedMultiplyAdd(a, b, c21); c22 = Avx512F.FusedMultiplyAdd(a, b, c22); c23 = Avx512F.FusedMultiplyAdd(a, b, c23);
        }
        return Vector512.Sum(c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11 + c12 + c13 + c14 + c15 + c16 + c17 + c18 + c19 + c20 + c21 + c22 + c23);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    static float Run256(long n)
    {
        var a = Vector256.Create(1.0000001f);
        var b = Vector256.Create(0.9999999f);
        Vector256<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default, c7 = default,
            c8 = default, c9 = default, c10 = default, c11 = default, c12 = default, c13 = default, c14 = default, c15 = default,
            c16 = default, c17 = default, c18 = default, c19 = default, c20 = default, c21 = default, c22 = default, c23 = default;
        for (long i = 0; i < n; i++)
        {
            c0 = Fma.MultiplyAdd(a, b, c0); c1 = Fma.MultiplyAdd(a, b, c1); c2 = Fma.MultiplyAdd(a, b, c2); c3 = Fma.MultiplyAdd(a, b, c3);
            c4 = Fma.MultiplyAdd(a, b, c4); c5 = Fma.MultiplyAdd(a, b, c5); c6 = Fma.MultiplyAdd(a, b, c6); c7 = Fma.MultiplyAdd(a, b, c7);
            c8 = Fma.MultiplyAdd(a, b, c8); c9 = Fma.MultiplyAdd(a, b, c9); c10 = Fma.MultiplyAdd(a, b, c10); c11 = Fma.MultiplyAdd(a, b, c11);
            c12 = Fma.MultiplyAdd(a, b, c12); c13 = Fma.MultiplyAdd(a, b, c13); c14 = Fma.MultiplyAdd(a, b, c14); c15 = Fma.MultiplyAdd(a, b, c15);
            c16 = Fma.MultiplyAdd(a, b, c16); c17 = Fma.MultiplyAdd(a, b, c17); c18 = Fma.MultiplyAdd(a, b, c18); c19 = Fma.MultiplyAdd(a, b, c19);
            c20 = Fma.MultiplyAdd(a, b, c20); c21 = Fma.MultiplyAdd(a, b, c21); c22 = Fma.MultiplyAdd(a, b, c22); c23 = Fma.MultiplyAdd(a, b, c23);
        }
        return Vector256.Sum(c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11 + c12 + c13 + c14 + c15 + c16 + c17 + c18 + c19 + c20 + c21 + c22 + c23);
    }
}
