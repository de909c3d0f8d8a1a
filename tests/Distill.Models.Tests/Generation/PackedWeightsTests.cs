using Distill.Models.Generation;
using Distill.Models.Lora;
using Distill.Models.Tests.Architectures;
using Distill.Tensors;
using Distill.Tensors.Autograd;

namespace Distill.Models.Tests.Generation;

/// <summary>
/// f32packed inference weights (every frozen linear and the head packed once into GEMM panels): the ragged batched
/// prefill and decode steps give the float32 model's full-forward logits (within 1e-4, as the f32 path), greedy
/// batched sampling picks the same tokens, and a trainable weight keeps float.
/// </summary>
public class PackedWeightsTests
{
    public static TheoryData<string> Models => new() { "llama", "qwen3", "gemma3", "gpt2", "phi3" };

    [Theory]
    [MemberData(nameof(Models))]
    public void PackedPrefillAndDecodeLogitsEqualTheFloatFullForward(string name)
    {
        var expected = ReferenceOutput.Load(name);
        using var model = ModelIO.Load(ReferenceOutput.Dir(name));
        model.FreezeBase();
        var report = model.UseInferenceWeights(InferenceWeights.F32Packed);
        Assert.Empty(report.KeptFloat);
        Assert.Equal(model.Linears.Count + 1, report.Quantized); // every linear and the head
        Assert.Equal(4 * report.Parameters, report.Bytes);
        var rng = new Rng(4);
        var seqs = new[] { expected.GreedyPrompt.Length, 1, 9, 4, 6 }
            .Select((l, i) => i == 0 ? expected.GreedyPrompt.Concat(Tokens(rng, model, 3)).ToArray() : Tokens(rng, model, l + 3)).ToList();
        var lens = new[] { expected.GreedyPrompt.Length, 1, 9, 4, 6 };
        int vocab = model.Config.VocabSize, len = lens.Max(), batch = seqs.Count;
        var ids = new int[batch * len];
        for (int b = 0; b < batch; b++) seqs[b][..lens[b]].CopyTo(ids, b * len);
        var caches = model.CreateCaches(batch, len + 3);
        using var tape = new Tape { NoGrad = true, InferenceWeights = true };
        var last = model.ForwardPrefill(tape, ids, batch, caches, lens).Span.ToArray();
        double maxErr = 0;
        for (int b = 0; b < batch; b++) maxErr = Math.Max(maxErr, MaxDiff(last.AsSpan(b * vocab, vocab), FloatLastRow(model, seqs[b][..lens[b]])));
        for (int s = 0; s < 3; s++)
        {
            var rows = new DecodeRows(Enumerable.Range(0, batch).ToArray(), lens.Select(l => l + s).ToArray());
            tape.Reset();
            var logits = model.ForwardRows(tape, Enumerable.Range(0, batch).Select(b => seqs[b][lens[b] + s]).ToArray(), caches, rows).Span.ToArray();
            for (int b = 0; b < batch; b++)
                maxErr = Math.Max(maxErr, MaxDiff(logits.AsSpan(b * vocab, vocab), FloatLastRow(model, seqs[b][..(lens[b] + s + 1)])));
        }
        foreach (var c in caches) c.Dispose();
        Assert.True(maxErr < 1e-4, $"{name}: f32packed decode vs float full forward max |Δ| {maxErr:E2}");
    }

    [Fact]
    public void GreedyBatchedSamplingWithALoraAdapterPicksTheFloatTokens()
    {
        using var model = ModelIO.Load(ReferenceOutput.Dir("llama"));
        var branches = LoraModel.Apply(model, new LoraConfig { R = 4, LoraAlpha = 8, TargetModules = ["q_proj", "k_proj", "v_proj", "o_proj", "up_proj"] }, 3);
        var rng = new Rng(9);
        foreach (var b in branches) for (int i = 0; i < b.B.Length; i++) b.B.Span[i] = 0.5f * (rng.NextFloat() - 0.5f);
        var prompts = new List<int[]> { new[] { 5, 17, 3 }, Tokens(rng, model, 1), Tokens(rng, model, 9), Tokens(rng, model, 4) };
        var o = new SamplingOptions { Temperature = 0, MaxNewTokens = 8, N = 2 };
        var f32 = BatchSampler.Generate(model, prompts, o);
        var report = model.UseInferenceWeights(InferenceWeights.F32Packed);
        Assert.Empty(report.KeptFloat); // the base is frozen under the adapter: every linear and the head packed
        var packed = BatchSampler.Generate(model, prompts, o);
        Assert.Equal(f32.Select(p => p.Select(c => string.Join(",", c.Ids))), packed.Select(p => p.Select(c => string.Join(",", c.Ids))));
        // the adapter is in the packed path: without it the tokens change
        LoraModel.SetEnabled(model, false);
        var without = BatchSampler.Generate(model, prompts, o);
        Assert.NotEqual(packed.Select(p => string.Join(";", p.Select(c => string.Join(",", c.Ids)))), without.Select(p => string.Join(";", p.Select(c => string.Join(",", c.Ids)))));
    }

    [Fact]
    public void TrainableWeightsKeepFloat()
    {
        using var model = ModelIO.Load(ReferenceOutput.Dir("llama"));
        var report = model.UseInferenceWeights(InferenceWeights.F32Packed);
        Assert.Equal(0, report.Quantized); // nothing frozen: a packed copy would go stale at the next optimizer step
        Assert.NotEmpty(report.KeptFloat);
        Assert.Equal(InferenceWeights.F32Packed, InferenceWeightsNames.Parse("f32packed"));
    }

    static int[] Tokens(Rng rng, CausalLM model, int count) => Enumerable.Range(0, count).Select(_ => rng.NextInt(model.Config.VocabSize)).ToArray();

    static float[] FloatLastRow(CausalLM model, int[] seq)
    {
        using var t = new Tape { NoGrad = true };
        int vocab = model.Config.VocabSize;
        return model.Forward(t, seq, 1).Span[((seq.Length - 1) * vocab)..].ToArray();
    }

    static double MaxDiff(ReadOnlySpan<float> a, float[] b)
    {
        double m = 0;
        for (int i = 0; i < a.Length; i++) m = Math.Max(m, Math.Abs(a[i] - b[i]));
        return m;
    }
}
