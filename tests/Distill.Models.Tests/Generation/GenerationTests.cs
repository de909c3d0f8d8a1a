using Distill.Models.Generation;
using Distill.Models.Tests.Architectures;
using Distill.Tensors;
using Distill.Tensors.Autograd;

namespace Distill.Models.Tests.Generation;

public class GenerationTests
{
    public static TheoryData<string> Models => new() { "llama", "qwen2", "mistral", "gpt2", "phi", "mistral-window", "qwen2-window", "phi3" };

    [Theory]
    [MemberData(nameof(Models))]
    public void CachedGreedyDecodeEqualsTheReferenceAndFullRecompute(string name)
    {
        var expected = ReferenceOutput.Load(name);
        using var model = ModelIO.Load(ReferenceOutput.Dir(name));
        var result = Generator.Generate(model, expected.GreedyPrompt, new SamplingOptions { Temperature = 0, MaxNewTokens = expected.GreedyTokens.Length });
        Assert.Equal(expected.GreedyTokens, result.Single().Ids);
        Assert.Equal("length", result.Single().FinishReason);

        // logits of every cached step equal the last row of a full forward over the same prefix
        var seq = expected.GreedyPrompt.Concat(expected.GreedyTokens).ToArray();
        int vocab = model.Config.VocabSize, p = expected.GreedyPrompt.Length;
        var caches = model.CreateCaches(1, seq.Length);
        using var tape = new Tape { NoGrad = true };
        var cached = model.ForwardCached(tape, seq[..p], 1, caches, 0).Span[((p - 1) * vocab)..].ToArray().ToList();
        for (int t = p; t < seq.Length - 1; t++)
        {
            tape.Reset();
            cached.AddRange(model.ForwardCached(tape, [seq[t]], 1, caches, t).Span.ToArray());
        }
        tape.Reset();
        var full = model.Forward(tape, seq[..^1], 1).Span[((p - 1) * vocab)..].ToArray();
        Assert.Equal(full.Length, cached.Count);
        double maxErr = full.Zip(cached).Max(x => Math.Abs(x.First - x.Second));
        Assert.True(maxErr < 1e-4, $"{name}: cached vs full max |Δ| {maxErr:E2}");
        foreach (var c in caches) c.Dispose();
    }

    // longrope: the cache holds keys rotated with the short factors until the sequence passes original_max_position_embeddings
    // (8 here); at that step the generator recomputes the whole sequence with the long factors, as Phi-3's
    // prepare_inputs_for_generation drops the cache. The reference's greedy tokens come from full recomputes.
    [Fact]
    public void LongRopeGenerationRecomputesWhenTheSequencePassesTheOriginalLength()
    {
        var expected = ReferenceOutput.Load("phi3-longrope");
        using var model = ModelIO.Load(ReferenceOutput.Dir("phi3-longrope"));
        Assert.Equal((false, true, false), (model.CacheInvalidatedAt(7, 1), model.CacheInvalidatedAt(8, 1), model.CacheInvalidatedAt(9, 1)));
        for (int n = 1; n <= 2; n++)
        {
            var result = Generator.Generate(model, expected.GreedyPrompt, new SamplingOptions { Temperature = 0, MaxNewTokens = expected.GreedyTokens.Length, N = n });
            Assert.All(result, r => Assert.Equal(expected.GreedyTokens, r.Ids));
        }
        // the recompute matters: continuing the short-factor cache past position 8 gives other logits than a full forward
        var seq = expected.GreedyPrompt.Concat(expected.GreedyTokens).ToArray()[..9];
        int vocab = model.Config.VocabSize;
        var caches = model.CreateCaches(1, 9);
        using var tape = new Tape { NoGrad = true };
        model.ForwardCached(tape, seq[..8], 1, caches, 0);
        tape.Reset();
        var stale = model.ForwardCached(tape, [seq[8]], 1, caches, 8).Span.ToArray();
        tape.Reset();
        var full = model.Forward(tape, seq, 1).Span[(8 * vocab)..].ToArray();
        Assert.True(full.Zip(stale).Max(x => Math.Abs(x.First - x.Second)) > 1e-3, "short-factor keys should not match the long-factor recompute");
        foreach (var c in caches) c.Dispose();
    }

    [Fact]
    public void SamplesAreSeededAndBatchedSamplesMatchSingleRuns()
    {
        using var model = ModelIO.Load(ReferenceOutput.Dir("llama"));
        var o = new SamplingOptions { Temperature = 1.0f, MaxNewTokens = 6, N = 3, Seed = 11 };
        var a = Generator.Generate(model, [5, 17, 3], o);
        var b = Generator.Generate(model, [5, 17, 3], o);
        Assert.Equal(a.Select(c => c.Ids), b.Select(c => c.Ids));
        Assert.Equal(3, a.Count);
        Assert.True(a.Select(c => string.Join(",", c.Ids)).Distinct().Count() > 1, "different samples in a batch");
        var c = Generator.Generate(model, [5, 17, 3], o with { Seed = 12 });
        Assert.NotEqual(a.Select(x => string.Join(",", x.Ids)), c.Select(x => string.Join(",", x.Ids)));
    }

    [Fact]
    public void EosAndStopStringsEndASequence()
    {
        using var model = ModelIO.Load(ReferenceOutput.Dir("gpt2"));
        var expected = ReferenceOutput.Load("gpt2"); // greedy: 51, 6, 49, 49, ...
        var eos = Generator.Generate(model, expected.GreedyPrompt, new SamplingOptions { Temperature = 0, MaxNewTokens = 8, EosTokenIds = [6] }).Single();
        Assert.Equal([51, 6], eos.Ids);
        Assert.Equal("eos", eos.FinishReason);
        string Decode(int[] ids) => string.Concat(ids.Select(i => $"<{i}>"));
        var stop = Generator.Generate(model, expected.GreedyPrompt, new SamplingOptions { Temperature = 0, MaxNewTokens = 8, StopStrings = ["<49>"] }, Decode).Single();
        Assert.Equal("stop", stop.FinishReason);
        Assert.Equal("<51><6>", stop.Text);
        Assert.Throws<ArgumentException>(() => Generator.Generate(model, [1], new SamplingOptions { StopStrings = ["x"] }));
        Assert.Throws<ArgumentException>(() => Generator.Generate(model, [999], new SamplingOptions()));
    }

    [Fact]
    public void SamplerFilters()
    {
        float[] logits = [1f, 3f, 2f, 0.5f];
        var rng = new Rng(1);
        var greedy = new SamplingOptions { Temperature = 0 };
        Assert.Equal(1, Sampler.Next((float[])logits.Clone(), [], greedy, rng));
        // top-k 1 and a tiny top-p both reduce sampling to the argmax
        for (int i = 0; i < 50; i++)
        {
            Assert.Equal(1, Sampler.Next((float[])logits.Clone(), [], new SamplingOptions { TopK = 1 }, rng));
            Assert.Equal(1, Sampler.Next((float[])logits.Clone(), [], new SamplingOptions { TopP = 0.01f }, rng));
            Assert.Contains(Sampler.Next((float[])logits.Clone(), [], new SamplingOptions { TopK = 2 }, rng), new[] { 1, 2 });
        }
        // repetition penalty (CTRL): a seen positive logit is divided, a negative one multiplied
        var pen = new SamplingOptions { Temperature = 0, RepetitionPenalty = 2f };
        Assert.Equal(2, Sampler.Next(new float[] { 1f, 3f, 2f, 0.5f }, [1], pen, rng)); // 3/2 = 1.5 < 2
        var neg = new float[] { -1f, -3f };
        Sampler.Next(neg, [0], pen, rng);
        Assert.Equal(-2f, neg[0]);
        // temperature sampling follows softmax: frequencies within 3σ over 20,000 draws
        var counts = new int[4];
        for (int i = 0; i < 20000; i++) counts[Sampler.Next((float[])logits.Clone(), [], new SamplingOptions(), rng)]++;
        double z = logits.Sum(l => Math.Exp(l));
        for (int k = 0; k < 4; k++)
        {
            double pk = Math.Exp(logits[k]) / z;
            Assert.True(Math.Abs(counts[k] / 20000.0 - pk) < 3 * Math.Sqrt(pk * (1 - pk) / 20000), $"token {k}: {counts[k] / 20000.0:F4} vs {pk:F4}");
        }
    }

    [Fact]
    public void ScoringMatchesTheReferenceLogProbs()
    {
        var expected = ReferenceOutput.Load("phi");
        using var model = ModelIO.Load(ReferenceOutput.Dir("phi"));
        var lp = Scoring.CompletionLogProbs(model, expected.LogprobPrompt, expected.LogprobCompletion);
        for (int i = 0; i < lp.Length; i++) Assert.Equal(expected.PerToken[i], lp[i], 4);
        Assert.Empty(Scoring.CompletionLogProbs(model, [1], []));
        Assert.Throws<ArgumentException>(() => Scoring.CompletionLogProbs(model, [], [1]));
    }
}
