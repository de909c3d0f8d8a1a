using Distill.Models.Formats;

namespace Distill.Models.Tests.Architectures;

public class InitTests
{
    static (double Mean, double Std) Stats(ReadOnlySpan<float> x)
    {
        double s = 0, s2 = 0;
        foreach (float v in x) { s += v; s2 += (double)v * v; }
        double mean = s / x.Length;
        return (mean, Math.Sqrt(s2 / x.Length - mean * mean));
    }

    [Fact]
    public void LlamaInitFollowsInitWeights()
    {
        var config = ModelPresets.Get("tiny") with { PadTokenId = 3 };
        using var model = ModelIO.Create(config);
        ModelInit.Initialize(model, 42);
        foreach (var w in model.Weights)
        {
            var span = w.Parameter.Span;
            if (w.Name.EndsWith("norm.weight")) Assert.True(span.ToArray().All(v => v == 1f), w.Name);
            else
            {
                var (mean, std) = Stats(span);
                Assert.InRange(std, 0.018, 0.022);
                Assert.InRange(mean, -0.002, 0.002);
            }
        }
        var embed = model.Weights.First(w => w.Name == "model.embed_tokens.weight").Parameter.Value;
        Assert.True(embed.Row(3).ToArray().All(v => v == 0f)); // padding_idx row
        Assert.Contains(embed.Row(4).ToArray(), v => v != 0f);
    }

    [Fact]
    public void Gpt2ScalesResidualProjections()
    {
        var config = ModelPresets.Get("bench-small") with { NumLayers = 8 };
        using var model = ModelIO.Create(config);
        ModelInit.Initialize(model, 1);
        foreach (var w in model.Weights)
        {
            var (_, std) = Stats(w.Parameter.Span);
            if (w.Name.EndsWith("c_proj.weight")) Assert.InRange(std, 0.02 / 4 * 0.97, 0.02 / 4 * 1.03); // 0.02/√(2·8)
            else if (w.Name.EndsWith("c_attn.weight") || w.Name.EndsWith("c_fc.weight") || w.Name.EndsWith("wte.weight")) Assert.InRange(std, 0.0194, 0.0206);
            else if (w.Name.EndsWith(".bias")) Assert.True(w.Parameter.Span.ToArray().All(v => v == 0f), w.Name);
            else if (w.Name.Contains("ln_")) Assert.True(w.Parameter.Span.ToArray().All(v => v == 1f), w.Name);
        }
    }

    [Theory]
    [InlineData("tiny", SafetensorsDType.F32)]
    [InlineData("tiny", SafetensorsDType.BF16)]
    [InlineData("bench-small", SafetensorsDType.F32)]
    [InlineData("tiny-phi3", SafetensorsDType.F32)]
    [InlineData("tiny-qwen3", SafetensorsDType.F32)]
    [InlineData("tiny-gemma3", SafetensorsDType.BF16)]
    public void SavedFolderLoadsBackBitIdentically(string preset, SafetensorsDType dtype)
    {
        var config = ModelPresets.Get(preset);
        config = config with { NumLayers = 2, LayerTypes = config.LayerTypes?[..2] };
        var dir = TestPaths.TempDir();
        ModelFolder.Init(config, null, dir, seed: 9, dtype);
        using var fresh = ModelIO.Create(config);
        ModelInit.Initialize(fresh, 9);
        using var loaded = ModelIO.Load(dir);
        Assert.Equal(dtype == SafetensorsDType.BF16 ? "bfloat16" : "float32", loaded.Config.TorchDType);
        foreach (var (a, b) in fresh.Weights.Zip(loaded.Weights))
        {
            Assert.Equal(a.Name, b.Name);
            var expected = a.Parameter.Span.ToArray();
            if (dtype == SafetensorsDType.BF16)
                expected = expected.Select(v => BitConverter.Int32BitsToSingle(SafetensorsDTypes.ToBFloat16Bits(v) << 16)).ToArray();
            Assert.Equal(expected, b.Parameter.Span.ToArray());
        }
        // saving the loaded model again reproduces the files byte for byte
        var again = TestPaths.TempDir();
        ModelIO.Save(loaded, again, dtype);
        Assert.Equal(File.ReadAllBytes(Path.Combine(dir, "model.safetensors")), File.ReadAllBytes(Path.Combine(again, "model.safetensors")));
        Assert.Equal(File.ReadAllText(Path.Combine(dir, "config.json")), File.ReadAllText(Path.Combine(again, "config.json")));
    }

    [Fact]
    public void SeedsDecide()
    {
        var config = ModelPresets.Get("tiny");
        using var a = ModelIO.Create(config);
        using var b = ModelIO.Create(config);
        using var c = ModelIO.Create(config);
        ModelInit.Initialize(a, 5);
        ModelInit.Initialize(b, 5);
        ModelInit.Initialize(c, 6);
        Assert.Equal(a.Weights[2].Parameter.Span.ToArray(), b.Weights[2].Parameter.Span.ToArray()); // q_proj
        Assert.NotEqual(a.Weights[2].Parameter.Span.ToArray(), c.Weights[2].Parameter.Span.ToArray());
    }

    [Fact]
    public void VocabularyFollowsTheTokenizerUnlessFixed()
    {
        var dir = TestPaths.TempDir();
        var tok = Path.Combine(dir, "tokenizer.json");
        File.WriteAllText(tok, """{"model":{"type":"BPE","vocab":{"a":0,"b":1,"ab":2}},"added_tokens":[{"id":300,"content":"<|end|>"}]}""");
        Assert.Equal(301, ModelFolder.ResolveConfig("tiny", tok).VocabSize);
        Assert.Equal(49152, ModelFolder.ResolveConfig("smollm2-135m", tok).VocabSize);
        Assert.Equal(1024, ModelFolder.ResolveConfig("tiny", null).VocabSize);
        var outDir = TestPaths.TempDir();
        ModelFolder.Init(ModelFolder.ResolveConfig("tiny", tok), tok, outDir, 1, SafetensorsDType.F32);
        Assert.True(File.Exists(Path.Combine(outDir, "tokenizer.json")));
        Assert.Equal(301, ConfigJson.Load(outDir).VocabSize);
        Assert.Throws<ArgumentException>(() => ModelFolder.ResolveConfig("nonsense", tok));
        File.WriteAllText(tok, """{"model":{"vocab":{}}}""");
        Assert.Contains("no vocabulary", Assert.Throws<ModelFormatException>(() => TokenizerFiles.VocabSize(tok)).Message);
    }

    [Fact]
    public void WrongShapesAndNamesInACheckpointAreNamed()
    {
        var dir = TestPaths.TempDir();
        var config = ModelPresets.Get("tiny");
        ModelFolder.Init(config, null, dir, 1, SafetensorsDType.F32);
        ConfigJson.Save(config with { IntermediateSize = 128 }, dir);
        var e = Assert.Throws<ModelFormatException>(() => ModelIO.Load(dir));
        Assert.Contains("tensor 'model.layers.0.mlp.gate_proj.weight' has shape [256, 96], the architecture expects [128, 96]", e.Message);
        ConfigJson.Save(config with { NumLayers = 3 }, dir);
        Assert.Contains("missing tensor 'model.layers.2.", Assert.Throws<ModelFormatException>(() => ModelIO.Load(dir)).Message);
        ConfigJson.Save(config with { NumLayers = 1 }, dir);
        Assert.Contains("unexpected tensor 'model.layers.1.", Assert.Throws<ModelFormatException>(() => ModelIO.Load(dir)).Message);
    }

    /// <summary>
    /// The real shapes' parameter counts (Qwen3-0.6B: 596,049,920 with the tied head, 0.44 B without the embedding, as its
    /// model card says; Gemma-3-270M: 268,098,176), from the weights the models register: one- and two-layer models with a
    /// vocabulary of 8 give the per-layer and fixed parts without allocating the real embeddings.
    /// </summary>
    [Theory]
    [InlineData("qwen3-0.6b", 596_049_920L)]
    [InlineData("gemma-3-270m", 268_098_176L)]
    public void RealShapePresetsHaveThePublishedParameterCounts(string preset, long expected)
    {
        var c = ModelPresets.Get(preset);
        long Count(int layers)
        {
            using var m = ModelIO.Create(c with { VocabSize = 8, NumLayers = layers, LayerTypes = c.LayerTypes?[..layers] });
            return m.ParameterCount;
        }
        long one = Count(1), perLayer = Count(2) - one;
        Assert.Equal(expected, one - 8L * c.HiddenSize + (long)c.VocabSize * c.HiddenSize + (c.NumLayers - 1) * perLayer);
    }

    [Fact]
    public void GemmaNormsStartAtZero()
    {
        using var model = ModelIO.Create(ModelPresets.Get("tiny-gemma3"));
        ModelInit.Initialize(model, 5);
        Assert.All(model.Weights.Where(w => w.Name.EndsWith("norm.weight")), w => Assert.True(w.Parameter.Span.ToArray().All(v => v == 0f), w.Name));
        Assert.True(model.Weights.First(w => w.Name == "model.embed_tokens.weight").Parameter.Value.Row(0).ToArray().All(v => v == 0f)); // pad 0
    }
}
