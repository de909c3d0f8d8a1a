using System.Diagnostics;
using Distill.Tensors;
using Distill.Tensors.Kernels;

namespace Distill.Bench;

/// <summary>One decode-attention measurement: a decoding step's attention over every layer, median and best milliseconds.</summary>
public sealed record DecodeAttentionResult(int Step, long Bytes, double MedianMs, double BestMs)
{
    /// <summary>Keys and values read per step (each shared prompt once, each row's own keys), GB/s at the median.</summary>
    public double GBps => Bytes / (MedianMs / 1000) / 1e9;
}

/// <summary>
/// <see cref="DecodeAttentionKernels.Forward"/> alone at `bench sample`'s shape: P prompts × N samples (the samples of a
/// prompt share its keys), prompt p of 64 + (41·p mod 65) tokens as in SampleBench, SmolLM2-135M's attention (9 heads, 3 kv
/// heads, head dim 64) over 30 layers, each with its own caches of 128 + 128 positions (3 GB for 256 rows, far beyond
/// every cache, as in a sampling wave). At step s each row has s own keys after its prompt. Random keys, values and
/// queries (seed 1).
/// </summary>
public static class DecodeAttentionBench
{
    public const int Heads = 9, KvHeads = 3, HeadDim = 64, Layers = 30, Capacity = 256, Warmup = 3;

    public static unsafe List<DecodeAttentionResult> Measure(int prompts, int samples, IReadOnlyList<int> steps, int repeats)
    {
        int rows = prompts * samples, width = KvHeads * HeadDim;
        var rng = new Rng(1);
        var k = new Tensor[Layers];
        var v = new Tensor[Layers];
        try
        {
            for (int l = 0; l < Layers; l++)
            {
                k[l] = Tensor.Create(rows, Capacity, width);
                v[l] = Tensor.Create(rows, Capacity, width);
                rng.FillNormal(k[l].Span, 0, 1);
                rng.FillNormal(v[l].Span, 0, 1);
            }
            using var q = Tensor.Create(rows, Heads * HeadDim);
            using var o = Tensor.Create(rows, Heads * HeadDim);
            rng.FillNormal(q.Span, 0, 1);
            int[] prefixLengths = new int[rows], prefixRows = new int[rows], cacheRows = new int[rows], positions = new int[rows];
            var results = new List<DecodeAttentionResult>();
            foreach (int step in steps)
            {
                if (step < 0 || 128 + step >= Capacity) throw new ArgumentOutOfRangeException(nameof(steps), $"decode attention bench: step {step} outside [0, {Capacity - 129}]");
                long bytes = 0;
                for (int b = 0; b < rows; b++)
                {
                    int p = b / samples;
                    prefixLengths[b] = 64 + 41 * p % 65;
                    prefixRows[b] = p * samples;
                    cacheRows[b] = b;
                    positions[b] = prefixLengths[b] + step;
                    bytes += (long)(step + 1) * width * 2 * sizeof(float) * Layers;
                    if (b % samples == 0) bytes += (long)prefixLengths[b] * width * 2 * sizeof(float) * Layers;
                }
                var ms = new List<double>();
                fixed (int* cr = cacheRows, ps = positions, pr = prefixRows, pl = prefixLengths)
                    for (int rep = -Warmup; rep < repeats; rep++) // warm-ups first: the JIT's tier-1 code, the caches' pages
                    {
                        var watch = Stopwatch.StartNew();
                        for (int l = 0; l < Layers; l++)
                            DecodeAttentionKernels.Forward(new DecodeAttentionLayout
                            {
                                Q = q.Pointer, K = k[l].Pointer, V = v[l].Pointer, Out = o.Pointer, CacheRows = cr, Positions = ps,
                                PrefixRows = pr, PrefixLengths = pl, Ldq = Heads * HeadDim, Batch = rows, Capacity = Capacity,
                                Heads = Heads, KvHeads = KvHeads, HeadDim = HeadDim, Scale = 1f / MathF.Sqrt(HeadDim),
                            });
                        if (rep >= 0) ms.Add(watch.Elapsed.TotalMilliseconds);
                    }
                ms.Sort();
                results.Add(new DecodeAttentionResult(step, bytes, ms[ms.Count / 2], ms[0]));
            }
            return results;
        }
        finally
        {
            foreach (var t in k) t?.Dispose();
            foreach (var t in v) t?.Dispose();
        }
    }
}
