using System.Text.Json.Nodes;
using Distill.Models.Formats;
using Distill.Tensors.Autograd;

namespace Distill.Models.Tests.Architectures;

/// <summary>
/// Checkpoints as they exist in the wild (reference/make_reference.py, "checkpoints as they exist in the wild"): GPT-2's
/// original layout (no "transformer." prefix, no lm_head.weight, mask buffers), base-model layouts of the other families,
/// and transformers 5 configs (rope_parameters, dtype, per-layer-type RoPE dicts), each against the plain-torch reference.
/// </summary>
public class CheckpointsInTheWildTests
{
    public static TheoryData<string, CheckpointLayout, int> Wild => new()
    {
        { "gpt2", CheckpointLayout.Prefixed, 4 },
        { "gpt2-original", CheckpointLayout.Unprefixed, 4 },
        { "gpt2-v5-untied", CheckpointLayout.Unprefixed, 5 },
        { "llama-noprefix", CheckpointLayout.Unprefixed, 4 },
        { "llama-v5", CheckpointLayout.Prefixed, 5 },
        { "mistral-v5", CheckpointLayout.Unprefixed, 5 },
        { "qwen2-v5", CheckpointLayout.Unprefixed, 5 },
        { "phi-v5", CheckpointLayout.Prefixed, 5 },
        { "phi3-v5", CheckpointLayout.Unprefixed, 5 },
        { "qwen3", CheckpointLayout.Prefixed, 4 },
        { "qwen3-v5", CheckpointLayout.Unprefixed, 5 },
        { "gemma3", CheckpointLayout.Prefixed, 4 },
        { "gemma3-v5", CheckpointLayout.Unprefixed, 5 },
    };

    static float[] Logits(CausalLM model, int[] ids, int batch)
    {
        using var tape = new Tape { NoGrad = true };
        return model.Forward(tape, ids, batch).Span.ToArray();
    }

    static double MaxError(CausalLM model, ReferenceOutput expected)
    {
        var logits = Logits(model, expected.InputIds, expected.Batch);
        Assert.Equal(expected.Logits.Length, logits.Length);
        double max = 0;
        for (int i = 0; i < logits.Length; i++) max = Math.Max(max, Math.Abs(logits[i] - expected.Logits[i]));
        return max;
    }

    [Theory]
    [MemberData(nameof(Wild))]
    public void LoadsWithTheReferenceLogitsAndSaysWhatItFound(string name, CheckpointLayout layout, int generation)
    {
        var expected = ReferenceOutput.Load(name);
        var lines = new List<string>();
        using var model = ModelIO.Load(ReferenceOutput.Dir(name), lines.Add);
        Assert.Equal(layout, model.LoadedLayout);
        Assert.Equal(generation, model.Config.ConfigGeneration);
        var line = Assert.Single(lines);
        Assert.Contains($"transformers {generation} config.json", line);
        Assert.Contains(layout == CheckpointLayout.Prefixed ? $"'{model.BaseModelPrefix}.'-prefixed" : $"without the '{model.BaseModelPrefix}.' prefix", line);
        var inspected = ModelIO.Inspect(ReferenceOutput.Dir(name));
        Assert.Equal((layout, generation), (inspected.Layout, inspected.Config.ConfigGeneration));
        double err = MaxError(model, expected);
        Assert.True(err < 1e-4, $"{name}: max |Δlogit| = {err:E2}");
    }

    [Theory]
    [MemberData(nameof(Wild))]
    public void GreedyTokensAndLogProbsMatch(string name, CheckpointLayout layout, int generation)
    {
        _ = (layout, generation);
        var expected = ReferenceOutput.Load(name);
        using var model = ModelIO.Load(ReferenceOutput.Dir(name));
        int vocab = model.Config.VocabSize;
        var seq = expected.GreedyPrompt.ToList();
        for (int step = 0; step < expected.GreedyTokens.Length; step++)
        {
            var last = Logits(model, seq.ToArray(), 1).AsSpan(seq.Count * vocab - vocab);
            int best = 0;
            for (int v = 1; v < vocab; v++) if (last[v] > last[best]) best = v;
            seq.Add(best);
        }
        Assert.Equal(expected.GreedyTokens, seq.Skip(expected.GreedyPrompt.Length).ToArray());
        var ids = expected.LogprobPrompt.Concat(expected.LogprobCompletion).ToArray();
        var logits = Logits(model, ids, 1);
        for (int t = 0; t < expected.LogprobCompletion.Length; t++)
        {
            var row = logits.AsSpan((expected.LogprobPrompt.Length - 1 + t) * vocab, vocab);
            double max = double.NegativeInfinity, z = 0;
            foreach (float x in row) max = Math.Max(max, x);
            foreach (float x in row) z += Math.Exp(x - max);
            double lp = row[expected.LogprobCompletion[t]] - max - Math.Log(z);
            Assert.True(Math.Abs(lp - expected.PerToken[t]) < 1e-4, $"{name} token {t}: {lp} vs {expected.PerToken[t]}");
        }
    }

    [Fact]
    public void V5ValuesAreTheOnesRead()
    {
        using var llama = ModelIO.Load(ReferenceOutput.Dir("llama-v5"));
        Assert.Equal(20000, llama.Config.RopeTheta);
        Assert.Equal(new RopeScaling("llama3", 8, 1, 4, 16), llama.Config.RopeScaling);
        using var phi = ModelIO.Load(ReferenceOutput.Dir("phi-v5"));
        Assert.Equal((0.25, 2), (phi.Config.PartialRotaryFactor, phi.Config.RotaryDim));
        using var qwen = ModelIO.Load(ReferenceOutput.Dir("qwen2-v5"));
        Assert.Equal(20000.0, qwen.Config.RopeTheta);
        Assert.Equal([0, 4], Enumerable.Range(0, 2).Select(qwen.WindowOf).ToArray());
        using var phi3 = ModelIO.Load(ReferenceOutput.Dir("phi3-v5"));
        Assert.Equal(("longrope", 8, 20000.0), (phi3.Config.RopeScaling!.Type, phi3.Config.RopeScaling.OriginalMaxPositionEmbeddings, phi3.Config.RopeTheta));
    }

    /// <summary>A copy of a reference folder whose config.json <paramref name="edit"/> changed.</summary>
    static string CopyWithConfig(string name, Action<JsonObject> edit)
    {
        var dir = TestPaths.TempDir();
        foreach (var f in Directory.GetFiles(ReferenceOutput.Dir(name))) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        var path = Path.Combine(dir, "config.json");
        var json = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        edit(json);
        File.WriteAllText(path, json.ToJsonString());
        return dir;
    }

    // The tests above can fail: the theta inside rope_parameters (20000) read as the default (10000), which is what a reader
    // blind to rope_parameters did, moves the logits far past the tolerance.
    [Fact]
    public void ReadingTheDefaultThetaWouldMissTheReference()
    {
        var dir = CopyWithConfig("llama-v5", j => j["rope_parameters"]!.AsObject().Remove("rope_theta"));
        using var model = ModelIO.Load(dir);
        Assert.Equal(10000, model.Config.RopeTheta);
        Assert.True(MaxError(model, ReferenceOutput.Load("llama-v5")) > 1e-3);
    }

    [Fact]
    public void AnUntiedHeadThatIsMissingIsAnError()
    {
        var dir = TestPaths.TempDir();
        File.Copy(Path.Combine(ReferenceOutput.Dir("gpt2-original"), "model.safetensors"), Path.Combine(dir, "model.safetensors"));
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(ReferenceOutput.Dir("gpt2-original"), "config.json")))!.AsObject();
        config["tie_word_embeddings"] = false;
        File.WriteAllText(Path.Combine(dir, "config.json"), config.ToJsonString());
        var e = Assert.Throws<ModelFormatException>(() => ModelIO.Load(dir));
        Assert.Contains("missing tensor 'lm_head.weight'", e.Message);
    }

    static void WriteCheckpoint(string dir, Func<string, string> rename, Func<string, float[], float[]>? change = null)
    {
        var tensors = new List<NamedTensor>();
        using (var ckpt = Checkpoint.Open(ReferenceOutput.Dir("gpt2")))
            foreach (var n in ckpt.Names)
                tensors.Add(new NamedTensor(rename(n), ckpt.Info(n).Shape.Select(d => (int)d).ToArray(), change?.Invoke(n, ckpt.ReadFloat32(n)) ?? ckpt.ReadFloat32(n)));
        if (change is not null)
        {
            var wte = tensors.First(t => t.Name.EndsWith("wte.weight"));
            tensors.Add(new NamedTensor("lm_head.weight", wte.Shape, change("lm_head.weight", wte.Data.ToArray())));
        }
        SafetensorsWriter.WriteCheckpoint(dir, tensors, SafetensorsDType.F32, long.MaxValue);
        File.Copy(Path.Combine(ReferenceOutput.Dir("gpt2"), "config.json"), Path.Combine(dir, "config.json"));
    }

    [Fact]
    public void AMixOfLayoutsIsAnError()
    {
        var dir = TestPaths.TempDir();
        WriteCheckpoint(dir, n => n.StartsWith("transformer.h.1.") ? n["transformer.".Length..] : n);
        var e = Assert.Throws<ModelFormatException>(() => ModelIO.Load(dir));
        Assert.Contains("mix two layouts", e.Message);
        Assert.Contains("'h.1.", e.Message);
    }

    [Fact]
    public void AStoredTiedHeadMustEqualTheEmbedding()
    {
        var same = TestPaths.TempDir();
        WriteCheckpoint(same, n => n, (_, v) => v);
        using (var model = ModelIO.Load(same)) Assert.True(model.Config.TieWordEmbeddings);
        var other = TestPaths.TempDir();
        WriteCheckpoint(other, n => n, (n, v) => n == "lm_head.weight" ? v.Select(x => x * 2).ToArray() : v);
        var e = Assert.Throws<ModelFormatException>(() => ModelIO.Load(other));
        Assert.Contains("'lm_head.weight' differs from 'transformer.wte.weight'", e.Message);
    }

    // Every family, in the base-model layout: the reference checkpoint's tensors renamed without the prefix (heads kept)
    // give the reference logits, and exactly the logits of the prefixed load.
    [Theory]
    [InlineData("llama")]
    [InlineData("qwen2")]
    [InlineData("mistral")]
    [InlineData("phi")]
    [InlineData("phi3")]
    [InlineData("phi3-longrope")]
    [InlineData("gpt2")]
    public void EveryFamilyLoadsWithoutThePrefix(string name)
    {
        var dir = TestPaths.TempDir();
        var tensors = new List<NamedTensor>();
        using (var ckpt = Checkpoint.Open(ReferenceOutput.Dir(name)))
            foreach (var n in ckpt.Names)
            {
                int dot = n.IndexOf('.');
                string stored = n[..dot] is "model" or "transformer" ? n[(dot + 1)..] : n;
                tensors.Add(new NamedTensor(stored, ckpt.Info(n).Shape, ckpt.ReadFloat32(n)));
            }
        SafetensorsWriter.WriteCheckpoint(dir, tensors, SafetensorsDType.F32, long.MaxValue);
        File.Copy(Path.Combine(ReferenceOutput.Dir(name), "config.json"), Path.Combine(dir, "config.json"));
        var expected = ReferenceOutput.Load(name);
        using var bare = ModelIO.Load(dir);
        using var prefixed = ModelIO.Load(ReferenceOutput.Dir(name));
        Assert.Equal((CheckpointLayout.Unprefixed, CheckpointLayout.Prefixed), (bare.LoadedLayout, prefixed.LoadedLayout));
        Assert.Equal(Logits(prefixed, expected.InputIds, expected.Batch), Logits(bare, expected.InputIds, expected.Batch));
        Assert.True(MaxError(bare, expected) < 2e-4);
    }
}
