using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Distill.Tensors.Threading;

namespace Distill.Bench;

/// <summary>
/// The machine's memory read bandwidth, STREAM-style: a 1 GiB float array (far beyond every cache) summed with 256-bit
/// loads by <see cref="Workers"/> (contiguous chunks, one per thread), the best and median of several passes in GB/s
/// (10⁹ bytes/s). The ceiling of batch-1 decoding, which reads every weight once per token.
/// </summary>
public static class ReadBandwidth
{
    public static unsafe (double Best, double Median) Measure(long bytes = 1L << 30, int passes = 7)
    {
        long n = bytes / sizeof(float);
        var p = (float*)NativeMemory.AlignedAlloc((nuint)(n * sizeof(float)), 64);
        try
        {
            new Span<float>(p, (int)Math.Min(n, int.MaxValue)).Fill(1f); // touch every page (n < 2³¹ for 1 GiB)
            var body = new Sum { P = p, Chunk = n / Math.Max(1, Workers.Count) };
            Workers.For(Workers.Count, body); // warm-up
            var rates = new List<double>();
            for (int i = 0; i < passes; i++)
            {
                var sw = Stopwatch.StartNew();
                Workers.For(Workers.Count, body);
                rates.Add(bytes / sw.Elapsed.TotalSeconds / 1e9);
            }
            rates.Sort();
            return (rates[^1], rates[rates.Count / 2]);
        }
        finally { NativeMemory.AlignedFree(p); }
    }

    unsafe struct Sum : IRangeBody
    {
        public float* P;
        public long Chunk;
        public static float Sink;

        public readonly void Run(int begin, int end)
        {
            for (int t = begin; t < end; t++)
            {
                float* a = P + t * Chunk;
                Vector256<float> s0 = default, s1 = default, s2 = default, s3 = default;
                for (long i = 0; i + 32 <= Chunk; i += 32)
                {
                    s0 += Vector256.LoadAligned(a + i);
                    s1 += Vector256.LoadAligned(a + i + 8);
                    s2 += Vector256.LoadAligned(a + i + 16);
                    s3 += Vector256.LoadAligned(a + i + 24);
                }
                Sink += Vector256.Sum(s0 + s1 + s2 + s3);
            }
        }
    }
}
