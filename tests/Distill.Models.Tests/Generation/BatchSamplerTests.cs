using Distill.Models.Generation;
using Distill.Models.Lora;
using Distill.Models.Tests.Architectures;
using Distill.Tensors;
using Distill.Tensors.Autograd;

namespace Distill.Models.Tests.Generation;

public class BatchSamplerTests
{
    public static TheoryData<string> Models => new() { "llama", "qwen2", "mistral", "gpt2", "phi", "mistral-window", "qwen2-window", "phi3", "qwen3", "gemma3" };

    /// <summary>Prompts of mixed lengths (1 to 9 tokens) drawn from the model's vocabulary, fixed by a seed.</summary>
    static List<int[]> Prompts(CausalLM model, int[] first)
    {
        var rng = new Rng(7);
        var prompts = new List<int[]> { first };
        foreach (int len in new[] { 1, 9, 4, 6 })
            prompts.Add(Enumerable.Range(0, len).Select(_ => rng.NextInt(model.Config.VocabSize)).ToArray());
        return prompts;
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void GreedyBatchedEqualsOneAtATimeWithRowsFinishingEarly(string name)
    {
        var expected = ReferenceOutput.Load(name);
        using var model = ModelIO.Load(ReferenceOutput.Dir(name));
        GreedyMatches(model, Prompts(model, expected.GreedyPrompt));
    }

    [Fact]
    public void GreedyBatchedEqualsOneAtATimeWithALoraAdapter()
    {
        using var model = ModelIO.Load(ReferenceOutput.Dir("llama"));
        var branches = LoraModel.Apply(model, new LoraConfig { R = 4, LoraAlpha = 8, TargetModules = ["q_proj", "k_proj", "v_proj", "o_proj", "up_proj"] }, 3);
        var rng = new Rng(9);
        foreach (var b in branches) for (int i = 0; i < b.B.Length; i++) b.B.Span[i] = 0.5f * (rng.NextFloat() - 0.5f); // a trained-looking adapter
        var prompts = Prompts(model, [5, 17, 3]);
        var withAdapter = GreedyMatches(model, prompts);
        LoraModel.SetEnabled(model, false);
        var without = GreedyMatches(model, prompts);
        Assert.NotEqual(withAdapter, without); // the adapter is in the path
    }

    /// <summary>Greedy BatchSampler (n = 2, EOS chosen so that some rows stop early) equals Generator run on each prompt alone.</summary>
    static List<string> GreedyMatches(CausalLM model, List<int[]> prompts)
    {
        var free = new SamplingOptions { Temperature = 0, MaxNewTokens = 8 };
        var alone = prompts.Select(p => Generator.Generate(model, p, free).Single().Ids).ToList();
        // an EOS that some row emits early (a 3rd token) ends that row and any other row that reaches it; the first
        // such token that leaves other rows running to the length limit, when the model's outputs have one
        var candidates = alone.Select(a => a[2]).ToList();
        int eosToken = candidates.FirstOrDefault(t => alone.Any(a => !a.Contains(t)), candidates[1]);
        var o = free with { EosTokenIds = [eosToken], N = 2 };
        var single = prompts.Select(p => Generator.Generate(model, p, o with { N = 1 }).Single()).ToList();
        Assert.Contains(single, c => c.FinishReason == "eos" && c.Ids.Length < 8);
        var batched = BatchSampler.Generate(model, prompts, o);
        Assert.Equal(prompts.Count, batched.Count);
        for (int i = 0; i < prompts.Count; i++)
        {
            Assert.Equal(2, batched[i].Count);
            foreach (var c in batched[i])
            {
                Assert.Equal(single[i].Ids, c.Ids);
                Assert.Equal(single[i].FinishReason, c.FinishReason);
            }
        }
        // a small row budget (several waves) changes nothing
        var waves = BatchSampler.Generate(model, prompts, o, maxRows: 3);
        Assert.Equal(batched.Select(b => b.Select(c => string.Join(",", c.Ids))), waves.Select(b => b.Select(c => string.Join(",", c.Ids))));
        return single.Select(c => string.Join(",", c.Ids)).ToList();
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void RaggedPrefillAndDecodeLogitsEqualTheFullForward(string name)
    {
        var expected = ReferenceOutput.Load(name);
        using var model = ModelIO.Load(ReferenceOutput.Dir(name));
        var seqs = Prompts(model, expected.GreedyPrompt).Select(p => p.Concat(new[] { 3, 1, 4, 1, 5 }.Select(t => t % model.Config.VocabSize)).ToArray()).ToList();
        var promptLens = new[] { expected.GreedyPrompt.Length, 1, 9, 4, 6 };
        int vocab = model.Config.VocabSize, steps = 5, capacity = promptLens.Max() + steps;
        // the cache rows in another order than the prompts: row b of the batch lives in cache row perm[b]
        int[] perm = [3, 0, 4, 2, 1];
        var caches = model.CreateCaches(seqs.Count, capacity);
        var scratch = model.CreateCaches(1, capacity);
        using var tape = new Tape { NoGrad = true };
        double maxErr = 0;
        for (int b = 0; b < seqs.Count; b++)
        {
            tape.Reset();
            foreach (var c in scratch) c.Clear();
            var last = model.ForwardCached(tape, seqs[b][..promptLens[b]], 1, scratch, 0, lastOnly: true).Span.ToArray();
            Assert.Equal(vocab, last.Length);
            for (int l = 0; l < caches.Length; l++) caches[l].CopyRowFrom(scratch[l], 0, perm[b], promptLens[b]);
            maxErr = Math.Max(maxErr, MaxDiff(last, FullLastRow(model, tape, seqs[b][..promptLens[b]])));
        }
        for (int s = 0; s < steps; s++)
        {
            // rows drop out as they "finish": step s decodes rows s/2 … end
            var live = Enumerable.Range(s / 2, seqs.Count - s / 2).ToArray();
            var rows = new DecodeRows(live.Select(b => perm[b]).ToArray(), live.Select(b => promptLens[b] + s).ToArray());
            tape.Reset();
            var logits = model.ForwardRows(tape, live.Select(b => seqs[b][promptLens[b] + s]).ToArray(), caches, rows).Span.ToArray();
            for (int i = 0; i < live.Length; i++)
            {
                int b = live[i];
                var full = FullLastRow(model, tape, seqs[b][..(promptLens[b] + s + 1)]);
                maxErr = Math.Max(maxErr, MaxDiff(logits.AsSpan(i * vocab, vocab).ToArray(), full));
            }
        }
        Assert.True(maxErr < 1e-4, $"{name}: ragged vs full forward max |Δ| {maxErr:E2}");
        foreach (var c in caches.Concat(scratch)) c.Dispose();
    }

    // CausalLM.ForwardPrefill: prompts of lengths 1–9 right-padded into one forward give each prompt's last logits, and
    // caches whose padded positions the next decoding steps overwrite before reading (two ragged steps after it).
    [Theory]
    [MemberData(nameof(Models))]
    public void BatchedRightPaddedPrefillEqualsEachPromptAlone(string name)
    {
        var expected = ReferenceOutput.Load(name);
        using var model = ModelIO.Load(ReferenceOutput.Dir(name));
        var seqs = Prompts(model, expected.GreedyPrompt).Select(p => p.Concat(new[] { 2, 7 }.Select(t => t % model.Config.VocabSize)).ToArray()).ToList();
        var lens = new[] { expected.GreedyPrompt.Length, 1, 9, 4, 6 };
        int vocab = model.Config.VocabSize, len = lens.Max(), batch = seqs.Count;
        var ids = new int[batch * len];
        for (int b = 0; b < batch; b++)
        {
            seqs[b][..lens[b]].CopyTo(ids, b * len);
            for (int t = lens[b]; t < len; t++) ids[b * len + t] = (5 * t + b) % vocab; // padding: any ids
        }
        var caches = model.CreateCaches(batch, len + 2);
        using var tape = new Tape { NoGrad = true };
        var last = model.ForwardPrefill(tape, ids, batch, caches, lens).Span.ToArray();
        double maxErr = 0;
        for (int b = 0; b < batch; b++) maxErr = Math.Max(maxErr, MaxDiff(last.AsSpan(b * vocab, vocab).ToArray(), FullLastRow(model, tape, seqs[b][..lens[b]])));
        for (int s = 0; s < 2; s++)
        {
            var rows = new DecodeRows(Enumerable.Range(0, batch).ToArray(), lens.Select(l => l + s).ToArray());
            tape.Reset();
            var logits = model.ForwardRows(tape, Enumerable.Range(0, batch).Select(b => seqs[b][lens[b] + s]).ToArray(), caches, rows).Span.ToArray();
            for (int b = 0; b < batch; b++)
                maxErr = Math.Max(maxErr, MaxDiff(logits.AsSpan(b * vocab, vocab).ToArray(), FullLastRow(model, tape, seqs[b][..(lens[b] + s + 1)])));
        }
        Assert.True(maxErr < 1e-4, $"{name}: batched prefill vs one prompt alone max |Δ| {maxErr:E2}");
        Assert.Throws<ArgumentException>(() => model.ForwardPrefill(tape, ids, batch, caches, [.. lens[..4], len + 1]));
        foreach (var c in caches) c.Dispose();
    }

    // InferenceResidual: an inference forward rewinds the arena after each layer (one layer's temporaries at a time), a
    // recording forward keeps everything; the logits are the same bits. Every family's layer loop uses it.
    [Theory]
    [MemberData(nameof(Models))]
    public void InferenceForwardKeepsOneLayerOfTemporariesAndTheSameLogits(string name)
    {
        using var model = ModelIO.Load(ReferenceOutput.Dir(name));
        var ids = Prompts(model, [1, 2, 3]).SelectMany(p => p).Take(12).ToArray();
        using var inference = new Tape { NoGrad = true };
        using var recording = new Tape();
        var a = model.Forward(inference, ids, 1).Span.ToArray();
        var b = model.Forward(recording, ids, 1).Span.ToArray();
        Assert.Equal(b, a);
        int kept = inference.Arena.Mark().NextTensor, all = recording.Arena.Mark().NextTensor, layers = model.Config.NumLayers;
        Assert.True(layers >= 2 && kept < all - (layers - 2) * 3, $"{name}: {kept} arena tensors in inference, {all} recording, {layers} layers");
    }

    [Fact]
    public void KvCacheViewSharesTheFrontOfItsStorage()
    {
        using var store = new KvCache(1, 12, 2, 4);
        var view = store.View(3, 4);
        Assert.Equal((3, 4, 8), (view.Batch, view.Capacity, view.Width));
        view.K.Span[2 * 4 * 8 + 5] = 7f; // row 2, position 0, column 5 of the view
        Assert.Equal(7f, store.K.Span[(2 * 4) * 8 + 5]);
        view.Dispose(); // frees nothing: the store still reads
        Assert.Equal(7f, store.K.Span[69]);
        Assert.Throws<ArgumentException>(() => store.View(4, 4));
    }

    static float[] FullLastRow(CausalLM model, Tape tape, int[] seq)
    {
        using var t = new Tape { NoGrad = true };
        int vocab = model.Config.VocabSize;
        return model.Forward(t, seq, 1).Span[((seq.Length - 1) * vocab)..].ToArray();
    }

    static double MaxDiff(float[] a, float[] b) => a.Zip(b).Max(x => Math.Abs(x.First - x.Second));

    [Fact]
    public void SeededSamplesAreReproducibleAndIndependentOfTheBatch()
    {
        using var model = ModelIO.Load(ReferenceOutput.Dir("llama"));
        var prompts = Prompts(model, [5, 17, 3]);
        var o = new SamplingOptions { Temperature = 1f, TopK = 20, TopP = 0.9f, MaxNewTokens = 7, N = 3, Seed = 42 };
        var a = BatchSampler.Generate(model, prompts, o);
        var b = BatchSampler.Generate(model, prompts, o);
        Assert.Equal(Flat(a), Flat(b));
        Assert.True(a.SelectMany(x => x).Select(c => string.Join(",", c.Ids)).Distinct().Count() > 5, "samples differ");
        Assert.NotEqual(Flat(a), Flat(BatchSampler.Generate(model, prompts, o with { Seed = 43 })));
        // prompt 2 alone with its recorded seed, or among other prompts in another order: the same samples
        ulong seed2 = BatchSampler.StreamSeed(o.Seed, 2);
        var alone = BatchSampler.Generate(model, [prompts[2]], o, seeds: [seed2]);
        Assert.Equal(Flat([a[2]]), Flat(alone));
        var shuffled = BatchSampler.Generate(model, [prompts[4], prompts[2], prompts[0]], o, seeds: [1, seed2, 2], maxRows: 4);
        Assert.Equal(Flat([a[2]]), Flat([shuffled[1]]));
        // each completion records its stream's seed: Generator with that seed draws the same tokens
        foreach (var (c, j) in a[2].Select((c, j) => (c, j)))
        {
            Assert.Equal(BatchSampler.StreamSeed(seed2, j), c.Seed);
            Assert.Equal(c.Ids, Generator.Generate(model, prompts[2], o with { N = 1, Seed = c.Seed!.Value }).Single().Ids);
        }
    }

    static List<string> Flat(IReadOnlyList<IReadOnlyList<Completion>> r) => r.SelectMany(x => x).Select(c => string.Join(",", c.Ids)).ToList();

    [Fact]
    public void StopStringsEosAndBadInput()
    {
        using var model = ModelIO.Load(ReferenceOutput.Dir("gpt2"));
        var expected = ReferenceOutput.Load("gpt2"); // greedy: 51, 6, 49, 49, ...
        string Decode(int[] ids) => string.Concat(ids.Select(i => $"<{i}>"));
        var r = BatchSampler.Generate(model, [expected.GreedyPrompt, expected.GreedyPrompt],
            new SamplingOptions { Temperature = 0, MaxNewTokens = 8, StopStrings = ["<49>"] }, Decode, seeds: [1, 2]);
        Assert.All(r, c => Assert.Equal(("stop", "<51><6>"), (c[0].FinishReason, c[0].Text)));
        var eos = BatchSampler.Generate(model, [expected.GreedyPrompt], new SamplingOptions { Temperature = 0, MaxNewTokens = 8, EosTokenIds = [6] })[0][0];
        Assert.Equal([51, 6], eos.Ids);
        Assert.Equal("eos", eos.FinishReason);
        Assert.Empty(BatchSampler.Generate(model, [expected.GreedyPrompt], new SamplingOptions { MaxNewTokens = 0 })[0][0].Ids);
        Assert.Contains("prompt 1: the prompt is empty", Assert.Throws<ArgumentException>(() => BatchSampler.Generate(model, [[1], []], new SamplingOptions())).Message);
        Assert.Contains("999", Assert.Throws<ArgumentException>(() => BatchSampler.Generate(model, [[999]], new SamplingOptions())).Message);
        Assert.Throws<ArgumentException>(() => BatchSampler.Generate(model, [[1]], new SamplingOptions { StopStrings = ["x"] }));
        Assert.Throws<ArgumentException>(() => BatchSampler.Generate(model, [[1]], new SamplingOptions(), seeds: [1, 2]));
    }

    // longrope: sequences that pass original_max_position_embeddings go through Generator's recompute, with the same seeds
    [Fact]
    public void LongRopeSequencesFallBackToTheRecomputingGenerator()
    {
        var expected = ReferenceOutput.Load("phi3-longrope");
        using var model = ModelIO.Load(ReferenceOutput.Dir("phi3-longrope"));
        var r = BatchSampler.Generate(model, [expected.GreedyPrompt], new SamplingOptions { Temperature = 0, MaxNewTokens = expected.GreedyTokens.Length, N = 2 });
        Assert.All(r[0], c => Assert.Equal(expected.GreedyTokens, c.Ids));
    }

    // Waves of whole prompts within the memory budget count each prompt's packed keys and values (PrefixPanels) beside
    // its n cache rows: at a budget of exactly ten prompts' cache and copies, ten go per wave (eleven would without the
    // copies); the copies' size is what PrefixPanels allocates, layer by layer.
    [Fact]
    public void WavesCountThePackedPromptCopies()
    {
        var c = ModelPresets.Get("smollm2-135m");
        var prompts = Enumerable.Range(0, 25).Select(_ => new int[96]).ToList();
        long perPrompt = 4L * (96 + 128) * c.NumLayers * 2 * c.NumKvHeads * c.HeadDim * sizeof(float) + BatchSampler.PackedBytes(c, 96);
        var waves = BatchSampler.Waves(c, Enumerable.Range(0, 25).ToList(), prompts, 4, 128, 256, 10 * perPrompt);
        Assert.Equal(new[] { 10, 10, 5 }, waves.Select(w => w.Count));
        Assert.Equal(Enumerable.Range(0, 25), waves.SelectMany(w => w));
        using var cache = new KvCache(2, 128, c.NumKvHeads, c.HeadDim);
        cache.PackPrefix(c.NumKvHeads, [0], [96]);
        Assert.Equal(BatchSampler.PackedBytes(c, 96), c.NumLayers * cache.PrefixPanels!.Bytes);
    }
}
