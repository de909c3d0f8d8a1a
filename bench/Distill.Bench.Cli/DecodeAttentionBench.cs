using System.Diagnostics;
using Distill.Models;
using Distill.Tensors;
using Distill.Tensors.Autograd;
using Distill.Tensors.Kernels;

namespace Distill.Bench.Cli;

/// <summary>One decode-attention measurement: a decoding step's attention over every layer, median and best milliseconds.</summary>
public sealed record DecodeAttentionResult(int Step, long Bytes, double MedianMs, double BestMs)
{
    /// <summary>Keys and values read per step (each shared prompt once, each row's own keys), GB/s at the median.</summary>
    public double GBps => Bytes / (MedianMs / 1000) / 1e9;
}

/// <summary>
/// <see cref="DecodeAttentionKernels.Forward"/> alone at `bench sample`'s shape: P prompts × N samples (the samples of a
/// prompt share its keys), prompt p of <see cref="SampleBench.PromptLength"/> tokens, the SmolLM2-135M preset's attention
/// (9 heads, 3 kv heads, head dim 64, 30 layers), each layer with its own caches of MaxPrompt + MaxStep + 1 positions
/// (3 GB for 256 rows, far beyond every cache, as in a sampling wave). At step s each row has s own keys after its
/// prompt. Random keys, values and queries (seed 1; the other layers' caches copy the first's: the time does not depend
/// on the values, and drawing 3 GB of normals took 25 s).
/// </summary>
public static class DecodeAttentionBench
{
    public const int MaxStep = 127, Capacity = SampleBench.MaxPrompt + MaxStep + 1, Warmup = 3;

    /// <summary>The attention's shape: SmolLM2-135M's, as `bench sample` runs it.</summary>
    public static ModelConfig Shape => ModelPresets.Get("smollm2-135m");

    public static unsafe List<DecodeAttentionResult> Measure(int prompts, int samples, IReadOnlyList<int> steps, int repeats)
    {
        var c = Shape;
        int rows = prompts * samples, width = c.NumKvHeads * c.HeadDim, layers = c.NumLayers;
        var rng = new Rng(1);
        var caches = new KvCache[layers];
        try
        {
            // the prompts' keys and values packed as the sampler packs them after its prefill (PrefixPanels)
            int[] promptRows = Enumerable.Range(0, prompts).Select(p => p * samples).ToArray(), promptLengths = Enumerable.Range(0, prompts).Select(SampleBench.PromptLength).ToArray();
            for (int l = 0; l < layers; l++)
            {
                caches[l] = new KvCache(rows, Capacity, c.NumKvHeads, c.HeadDim);
                if (l == 0) { rng.FillNormal(caches[0].K.Span, 0, 1); rng.FillNormal(caches[0].V.Span, 0, 1); }
                else { caches[0].K.Span.CopyTo(caches[l].K.Span); caches[0].V.Span.CopyTo(caches[l].V.Span); }
                caches[l].PackPrefix(c.NumKvHeads, promptRows, promptLengths);
            }
            using var q = Tensor.Create(rows, c.NumHeads * c.HeadDim);
            using var o = Tensor.Create(rows, c.NumHeads * c.HeadDim);
            rng.FillNormal(q.Span, 0, 1);
            int[] prefixLengths = new int[rows], prefixRows = new int[rows], cacheRows = new int[rows], positions = new int[rows];
            var results = new List<DecodeAttentionResult>();
            foreach (int step in steps)
            {
                if (step < 0 || step > MaxStep) throw new ArgumentOutOfRangeException(nameof(steps), $"decode attention bench: step {step} outside [0, {MaxStep}]");
                long bytes = 0;
                for (int b = 0; b < rows; b++)
                {
                    int p = b / samples;
                    prefixLengths[b] = SampleBench.PromptLength(p);
                    prefixRows[b] = p * samples;
                    cacheRows[b] = b;
                    positions[b] = prefixLengths[b] + step;
                    bytes += (long)(step + 1) * width * 2 * sizeof(float) * layers;
                    if (b % samples == 0) bytes += (long)prefixLengths[b] * width * 2 * sizeof(float) * layers;
                }
                var ms = new List<double>();
                fixed (int* cr = cacheRows, ps = positions, pr = prefixRows, pl = prefixLengths)
                    for (int rep = -Warmup; rep < repeats; rep++) // warm-ups first: the JIT's tier-1 code, the caches' pages
                    {
                        var watch = Stopwatch.StartNew();
                        for (int l = 0; l < layers; l++)
                            DecodeAttentionKernels.Forward(new DecodeAttentionLayout
                            {
                                Q = q.Pointer, K = caches[l].K.Pointer, V = caches[l].V.Pointer, Out = o.Pointer, CacheRows = cr, Positions = ps,
                                PrefixRows = pr, PrefixLengths = pl, Ldq = c.NumHeads * c.HeadDim, Batch = rows, Capacity = Capacity,
                                Heads = c.NumHeads, KvHeads = c.NumKvHeads, HeadDim = c.HeadDim, Scale = 1f / MathF.Sqrt(c.HeadDim),
                                PrefixPanels = caches[l].PrefixPanels,
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
            foreach (var cache in caches) cache?.Dispose();
        }
    }
}
