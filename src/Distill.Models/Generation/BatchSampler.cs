using System.Diagnostics;
using Distill.Tensors;
using Distill.Tensors.Autograd;
using Distill.Tensors.Threading;

namespace Distill.Models.Generation;

/// <summary>What a <see cref="BatchSampler"/> run did and how long it took (the benchmark's figures).</summary>
public sealed class BatchSamplingStats
{
    public int Sequences { get; internal set; }
    public long PromptTokens { get; internal set; }
    public long GeneratedTokens { get; internal set; }
    public double PrefillSeconds { get; internal set; }
    public double DecodeSeconds { get; internal set; }
    /// <summary>Process CPU time (all threads) of the prefill and of the decode: on a shared machine, the less distorted figure.</summary>
    public double PrefillCpuSeconds { get; internal set; }
    public double DecodeCpuSeconds { get; internal set; }
    /// <summary>Of the decode time, the part spent choosing tokens from the logits (filters and draws, all rows).</summary>
    public double SamplingSeconds { get; internal set; }
    /// <summary>Wall time of each ragged decoding step (forward of all live rows + their sampling).</summary>
    public List<double> StepSeconds { get; } = [];
}

/// <summary>
/// Many prompts × n samples decoded together. Each prompt is prefilled once (batch 1, logits of its last position
/// only) and its keys and values are copied into the cache rows of its n samples; then every live sequence advances
/// one token per step in one ragged forward (<see cref="CausalLM.ForwardRows"/>): its own position and its own cache
/// row, no padding, so the position ids and attended keys are those of the sequence run alone (what transformers'
/// left padding with position_ids = cumsum(attention_mask) − 1 and masked pad keys computes). A sequence leaves the
/// batch at EOS, at a stop string or at max_new_tokens.
/// Randomness: prompt i draws with seed <c>seeds[i]</c> (default: the (i+1)-th SplitMix64 output from options.Seed),
/// and its sample j from a xoshiro stream seeded with <see cref="StreamSeed"/>(prompt seed, j) — per-sequence streams,
/// so a prompt's samples do not depend on which other prompts share the batch. Each completion records its stream
/// seed: <c>Generator.Generate(model, prompt, options with { N = 1, Seed = completion.Seed })</c> draws the same
/// tokens (up to the rounding of batched GEMMs).
/// </summary>
public static class BatchSampler
{
    /// <summary>Rows decoded together at most (cache memory: rows × (longest prompt + max_new_tokens) × layers × 2 × kv width floats).</summary>
    public const int DefaultMaxRows = 256;

    /// <summary>
    /// A wave holds at most this much KV cache, its prompts' packed copies included (<see cref="PrefixPanels"/>: keys and
    /// values once more per prompt); more prompts wait for the next wave; one prompt's n rows always go.
    /// </summary>
    public const long MaxCacheBytes = 4L << 30;

    /// <summary>Prefill batches: at most this many prompts and this many (padded) tokens per forward.</summary>
    const int PrefillPrompts = 16, PrefillTokens = 1024;

    /// <summary>Throws an <see cref="ArgumentException"/> naming the problem when a prompt cannot be generated from.</summary>
    public static void ValidatePrompt(CausalLM model, int[] prompt)
    {
        if (prompt.Length == 0) throw new ArgumentException("the prompt is empty; give at least one token (e.g. BOS)");
        int vocab = model.Config.VocabSize;
        foreach (int t in prompt)
            if ((uint)t >= (uint)vocab) throw new ArgumentException($"prompt token id {t} is outside the vocabulary (size {vocab})");
    }

    /// <summary>The seed of sample <paramref name="sample"/>'s stream: the (sample+1)-th SplitMix64 output from <paramref name="seed"/>.</summary>
    public static ulong StreamSeed(ulong seed, int sample)
    {
        ulong z = seed + (ulong)(sample + 1) * 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <returns>for each prompt, its <see cref="SamplingOptions.N"/> completions</returns>
    /// <param name="decode">token ids → text; required for stop strings and for <see cref="Completion.Text"/>.</param>
    /// <param name="seeds">one seed per prompt (see the class remarks), or null</param>
    public static IReadOnlyList<IReadOnlyList<Completion>> Generate(CausalLM model, IReadOnlyList<int[]> prompts, SamplingOptions o,
        Func<int[], string>? decode = null, IReadOnlyList<ulong>? seeds = null, int maxRows = DefaultMaxRows, BatchSamplingStats? stats = null)
    {
        o.Validate();
        SequenceClassification.RequireLanguageModel(model, "generate text");
        if (o.StopStrings.Count > 0 && decode is null) throw new ArgumentException("stop strings need a tokenizer to decode the completion");
        if (seeds is not null && seeds.Count != prompts.Count) throw new ArgumentException($"{seeds.Count} seeds for {prompts.Count} prompts");
        if (maxRows < 1) throw new ArgumentException($"max rows must be ≥ 1, got {maxRows}");
        for (int i = 0; i < prompts.Count; i++)
        {
            try { ValidatePrompt(model, prompts[i]); }
            catch (ArgumentException e) { throw new ArgumentException($"prompt {i}: {e.Message}"); }
        }
        var promptSeeds = Enumerable.Range(0, prompts.Count).Select(i => seeds?[i] ?? StreamSeed(o.Seed, i)).ToArray();
        var result = new Completion[prompts.Count][];
        stats ??= new BatchSamplingStats();
        // longrope switches rotary tables past original_max_position_embeddings and must then recompute the cache:
        // such prompts go through Generator one stream at a time (it handles the switch)
        var batched = new List<int>();
        for (int i = 0; i < prompts.Count; i++)
        {
            if (CrossesLongRope(model.Config, prompts[i].Length + o.MaxNewTokens))
                result[i] = Enumerable.Range(0, o.N).Select(j => Generator.Generate(model, prompts[i], o with { N = 1, Seed = StreamSeed(promptSeeds[i], j) }, decode)[0]
                    with { Seed = StreamSeed(promptSeeds[i], j) }).ToArray();
            else batched.Add(i);
        }
        foreach (var wave in Waves(model.Config, batched, prompts, o.N, o.MaxNewTokens, maxRows, MaxCacheBytes))
            RunWave(model, prompts, wave, promptSeeds, o, decode, result, stats);
        return result;
    }

    /// <summary>
    /// The prompts <paramref name="batched"/> in order, cut into waves of whole prompts within the row budget and the memory
    /// budget: n rows × (the wave's longest prompt + new tokens) positions of cache per prompt, plus its packed copies.
    /// </summary>
    public static List<List<int>> Waves(ModelConfig c, IReadOnlyList<int> batched, IReadOnlyList<int[]> prompts, int n, int maxNewTokens, int maxRows, long maxBytes)
    {
        long perPosition = (long)c.NumLayers * 2 * c.NumKvHeads * c.HeadDim * sizeof(float);
        var waves = new List<List<int>>();
        for (int w = 0; w < batched.Count;)
        {
            var wave = new List<int> { batched[w++] };
            int longest = prompts[wave[0]].Length;
            long packed = PackedBytes(c, longest);
            for (; w < batched.Count && (wave.Count + 1) * n <= maxRows; w++)
            {
                int length = prompts[batched[w]].Length, wider = Math.Max(longest, length);
                long more = PackedBytes(c, length);
                if ((long)(wave.Count + 1) * n * (wider + maxNewTokens) * perPosition + packed + more > maxBytes) break;
                longest = wider;
                packed += more;
                wave.Add(batched[w]);
            }
            waves.Add(wave);
        }
        return waves;
    }

    /// <summary>A prompt's packed keys and values over all layers (<see cref="PrefixPanels"/>: keys in panels of 32, values in 32-column panels).</summary>
    public static long PackedBytes(ModelConfig c, int promptLength)
        => c.NumLayers * PrefixPanels.FloatsFor(promptLength, c.NumKvHeads, c.HeadDim) * sizeof(float);

    static bool CrossesLongRope(ModelConfig c, int end) => RopeFrequencies.UsesLongFactors(c, end) && !RopeFrequencies.UsesLongFactors(c, 1);

    sealed class Row(int prompt, int sample, ulong seed, int promptLength, HashSet<int>? seen)
    {
        public int Prompt { get; } = prompt;
        public int Sample { get; } = sample;
        public ulong Seed { get; } = seed;
        public Rng Rng { get; } = new(seed);
        public int PromptLength { get; } = promptLength;
        public HashSet<int>? Seen { get; } = seen;
        public List<int> Generated { get; } = [];
        public string? Reason { get; set; }
    }

    static void RunWave(CausalLM model, IReadOnlyList<int[]> prompts, List<int> wave, ulong[] promptSeeds, SamplingOptions o,
        Func<int[], string>? decode, Completion[][] result, BatchSamplingStats stats)
    {
        int vocab = model.Config.VocabSize, n = o.N, maxPrompt = wave.Max(i => prompts[i].Length);
        var rows = new List<Row>();
        foreach (int i in wave)
            for (int j = 0; j < n; j++)
                rows.Add(new Row(i, j, StreamSeed(promptSeeds[i], j), prompts[i].Length, o.RepetitionPenalty != 1f ? [.. prompts[i]] : null));
        stats.Sequences += rows.Count;
        if (o.MaxNewTokens > 0)
        {
            var caches = model.CreateCaches(rows.Count, maxPrompt + o.MaxNewTokens);
            using var tape = new Tape { NoGrad = true, InferenceWeights = true };
            var logits = new float[rows.Count * vocab];
            try
            {
                // prefill: the wave's prompts by length, several per forward (right-padded, see CausalLM.ForwardPrefill);
                // prompt w's keys and values go to cache row w·n once, the prefix its n samples all read (DecodeRows)
                long t0 = Stopwatch.GetTimestamp();
                double cpu0 = ProcessCpuSeconds();
                var byLength = Enumerable.Range(0, wave.Count).OrderByDescending(w => prompts[wave[w]].Length).ToArray();
                // one scratch cache for every chunk (a view of its front per chunk): fresh memory is slow to touch
                // (a chunk holds at most PrefillTokens positions, or one prompt longer than that)
                var scratchStore = model.CreateCaches(1, Math.Max(maxPrompt, PrefillTokens));
                try
                {
                    for (int c0 = 0; c0 < byLength.Length;)
                    {
                        int len = prompts[wave[byLength[c0]]].Length, c1 = c0 + 1;
                        while (c1 < byLength.Length && c1 - c0 < PrefillPrompts && (c1 - c0 + 1) * len <= PrefillTokens) c1++;
                        var chunk = byLength[c0..c1];
                        var ids = new int[chunk.Length * len];
                        var lengths = new int[chunk.Length];
                        for (int b = 0; b < chunk.Length; b++)
                        {
                            var prompt = prompts[wave[chunk[b]]];
                            prompt.CopyTo(ids, b * len);
                            lengths[b] = prompt.Length;
                            stats.PromptTokens += prompt.Length;
                        }
                        var scratch = scratchStore.Select(c => c.View(chunk.Length, len)).ToArray();
                        tape.Reset();
                        var last = model.ForwardPrefill(tape, ids, chunk.Length, scratch, lengths).Span;
                        for (int b = 0; b < chunk.Length; b++)
                        {
                            int w = chunk[b];
                            for (int l = 0; l < caches.Length; l++) caches[l].CopyRowFrom(scratch[l], b, w * n, lengths[b]);
                            for (int j = 0; j < n; j++) last.Slice(b * vocab, vocab).CopyTo(logits.AsSpan((w * n + j) * vocab, vocab));
                        }
                        c0 = c1;
                    }
                }
                finally { foreach (var c in scratchStore) c.Dispose(); }
                // each prompt's keys and values, packed once for the decoding steps' shared-prefix products (PrefixPanels)
                var prefixRowsOfWave = Enumerable.Range(0, wave.Count).Select(w => w * n).ToArray();
                var prefixLengths = wave.Select(i => prompts[i].Length).ToArray();
                foreach (var c in caches) c.PackPrefix(model.Config.NumKvHeads, prefixRowsOfWave, prefixLengths);
                stats.PrefillSeconds += Stopwatch.GetElapsedTime(t0).TotalSeconds;
                double cpu1 = ProcessCpuSeconds();
                stats.PrefillCpuSeconds += cpu1 - cpu0;
                var prefixRows = rows.Select((r, x) => x / n * n).ToArray();
                var live = Enumerable.Range(0, rows.Count).ToArray();
                Tensor? step = null; // the last step's logits (live rows, vocab), sampled in place
                t0 = Stopwatch.GetTimestamp();
                while (true)
                {
                    long s0 = Stopwatch.GetTimestamp();
                    var next = new int[live.Length];
                    Workers.For(live.Length, new SampleBody { Rows = rows, Live = live, Prefill = logits, Step = step, Vocab = vocab, Options = o, Next = next }, 8);
                    stats.SamplingSeconds += Stopwatch.GetElapsedTime(s0).TotalSeconds;
                    var still = new List<int>(live.Length);
                    for (int b = 0; b < live.Length; b++)
                    {
                        var r = rows[live[b]];
                        int tok = next[b];
                        r.Generated.Add(tok);
                        r.Seen?.Add(tok);
                        stats.GeneratedTokens++;
                        if (o.EosTokenIds.Contains(tok)) r.Reason = "eos";
                        else if (o.StopStrings.Count > 0 && o.StopStrings.Any(decode!(r.Generated.ToArray()).Contains)) r.Reason = "stop";
                        else if (r.Generated.Count >= o.MaxNewTokens) r.Reason = "length";
                        else still.Add(live[b]);
                    }
                    if (still.Count == 0) { stats.StepSeconds.Add(Stopwatch.GetElapsedTime(s0).TotalSeconds); break; }
                    // one ragged step: each live sequence feeds its last token at its own position
                    live = [.. still];
                    var tokens = live.Select(x => rows[x].Generated[^1]).ToArray();
                    var positions = live.Select(x => rows[x].PromptLength + rows[x].Generated.Count - 1).ToArray();
                    tape.Reset();
                    step = model.ForwardRows(tape, tokens, caches, new DecodeRows(live, positions,
                        live.Select(x => prefixRows[x]).ToArray(), live.Select(x => rows[x].PromptLength).ToArray()));
                    stats.StepSeconds.Add(Stopwatch.GetElapsedTime(s0).TotalSeconds);
                }
                stats.DecodeSeconds += Stopwatch.GetElapsedTime(t0).TotalSeconds;
                stats.DecodeCpuSeconds += ProcessCpuSeconds() - cpu1;
            }
            finally
            {
                foreach (var c in caches) c.Dispose();
            }
        }
        foreach (int i in wave) result[i] = new Completion[n];
        foreach (var r in rows)
            result[r.Prompt][r.Sample] = Generator.Finish([.. r.Generated], r.Reason ?? "length", o, decode) with { Seed = r.Seed };
    }

    static double ProcessCpuSeconds()
    {
        using var p = Process.GetCurrentProcess();
        return p.TotalProcessorTime.TotalSeconds;
    }

    /// <summary>Samples the next token of each live row from its logits (rows are independent: own logits, own stream).</summary>
    struct SampleBody : IRangeBody
    {
        public List<Row> Rows;
        public int[] Live, Next;
        public float[] Prefill;  // (rows, vocab): the first token's logits, by row
        public Tensor? Step;     // (live, vocab): a decoding step's, by live index; null before the first step
        public int Vocab;
        public SamplingOptions Options;

        public readonly void Run(int begin, int end)
        {
            for (int b = begin; b < end; b++)
            {
                var r = Rows[Live[b]];
                var logits = Step is null ? Prefill.AsSpan(Live[b] * Vocab, Vocab) : Step.Span.Slice(b * Vocab, Vocab);
                Next[b] = Sampler.Next(logits, (IReadOnlyCollection<int>?)r.Seen ?? [], Options, r.Rng);
            }
        }
    }
}
