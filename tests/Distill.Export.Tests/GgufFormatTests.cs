using Distill.Models;
using Distill.Models.Formats;
using Distill.Models.Formats.Gguf;

namespace Distill.Export.Tests;

/// <summary>The GGUF writer and reader on their own: round trips, alignment, Q8_0 blocks, the Q/K permutation, refusals.</summary>
public class GgufFormatTests
{
    [Fact]
    public void Q8_0BlocksFollowGgmlsReferenceQuantizer()
    {
        // one block: max |x| = 2.54 → d = 0.02 (stored as fp16), q = roundf(x / d) with the float32 d, half away from zero
        var x = new float[32];
        x[0] = 2.54f; x[1] = -2.54f; x[2] = 0.01f; x[3] = -0.01f; x[4] = 0.03f; x[5] = 1.0f;
        var bytes = new byte[34];
        Q8_0.Quantize(x, bytes);
        Assert.Equal((Half)(2.54f / 127f), BitConverter.ToHalf(bytes, 0));
        Assert.Equal(new sbyte[] { 127, -127, 1, -1, 2, 50 }, bytes[2..8].Select(b => (sbyte)b).ToArray()); // 0.5 → 1, 1.5 → 2
        Assert.All(bytes[8..], b => Assert.Equal(0, b));
        // an all-zero block has d = 0 and q = 0
        var zeros = new byte[34];
        Q8_0.Quantize(new float[32], zeros);
        Assert.All(zeros, b => Assert.Equal(0, b));
        var back = new float[32];
        Q8_0.Dequantize(bytes, back);
        Assert.Equal((float)(Half)(2.54f / 127f) * 50, back[5]);
    }

    [Fact]
    public void WriterAndReaderRoundTripEveryTypeAtTheAlignment()
    {
        var rng = new Distill.Tensors.Rng(3);
        var a = new float[3 * 64]; rng.FillNormal(a, 0, 1);
        var b = new float[5]; rng.FillNormal(b, 0, 1);
        var path = Path.Combine(TestPaths.TempDir(), "t.gguf");
        GgufWriter.Write(path,
            [GgufEntry.String("general.architecture", "test"), GgufEntry.UInt32("general.alignment", 64), GgufEntry.Bool("x.flag", true),
             GgufEntry.Float32s("x.floats", [1.5f, -2f]), GgufEntry.Strings("x.words", ["a b", "ü", ""])],
            [new GgufTensor("a.f32", [3, 64], GgmlType.F32, a), new GgufTensor("b", [5], GgmlType.F32, b),
             new GgufTensor("a.f16", [3, 64], GgmlType.F16, a), new GgufTensor("a.bf16", [3, 64], GgmlType.BF16, a), new GgufTensor("a.q8", [3, 64], GgmlType.Q8_0, a)]);
        var f = GgufFile.Open(path);
        Assert.Equal(3u, f.Version);
        Assert.Equal(64u, f.Alignment);
        Assert.Equal(0, f.DataStart % 64);
        Assert.All(f.Tensors, t => Assert.Equal(0ul, t.Offset % 64));
        Assert.Equal(["a b", "ü", ""], (string[])f.Get("x.words"));
        Assert.Equal(a, f.ReadFloat32("a.f32"));
        Assert.Equal(b, f.ReadFloat32("b"));
        Assert.Equal(a.Select(v => (float)(Half)v), f.ReadFloat32("a.f16"));
        Assert.Equal(a.Select(v => BitConverter.UInt32BitsToSingle((uint)SafetensorsDTypes.ToBFloat16Bits(v) << 16)), f.ReadFloat32("a.bf16"));
        var q = f.ReadFloat32("a.q8");
        for (int blk = 0; blk < a.Length / 32; blk++)
        {
            float amax = a.Skip(blk * 32).Take(32).Max(MathF.Abs);
            for (int i = blk * 32; i < blk * 32 + 32; i++) Assert.True(MathF.Abs(q[i] - a[i]) <= amax / 127 * 0.5f + amax * 1e-3f, $"{i}: {q[i]} vs {a[i]}");
        }
    }

    [Fact]
    public void TruncatedAndForeignFilesAreRefusedNamingTheFile()
    {
        var dir = TestPaths.TempDir();
        var bad = Path.Combine(dir, "bad.gguf");
        File.WriteAllBytes(bad, "GGML0000000000000000000000"u8.ToArray());
        Assert.Contains("not a GGUF file", Assert.Throws<ModelFormatException>(() => GgufFile.Open(bad)).Message);
        var good = Path.Combine(dir, "good.gguf");
        GgufWriter.Write(good, [GgufEntry.String("general.architecture", "test")], [new GgufTensor("w", [2, 32], GgmlType.F32, new float[64])]);
        var bytes = File.ReadAllBytes(good);
        File.WriteAllBytes(bad, bytes[..(bytes.Length - 8)]);
        var e = Assert.Throws<ModelFormatException>(() => GgufFile.Open(bad));
        Assert.Contains("'w' ends past the end of the file", e.Message);
        Assert.Contains(bad, e.Message);
    }

    [Fact]
    public void QkPermutationInterleavesTheHalvesOfEachHead()
    {
        // 2 heads of head_dim 4, one column: rows [h0: 0 1 | 2 3, h1: 4 5 | 6 7] → [0 2 1 3, 4 6 5 7]
        Assert.Equal([0f, 2, 1, 3, 4, 6, 5, 7], LlamaGguf.PermuteRows([0f, 1, 2, 3, 4, 5, 6, 7], heads: 2, cols: 1));
    }

    [Fact]
    public void TensorTypesFollowConvertHfToGguf()
    {
        GgmlType T(string name, params long[] shape) => GgufExport.TypeOf(new GgufSource(name, shape, []), GgmlType.Q8_0);
        Assert.Equal(GgmlType.Q8_0, T("blk.0.attn_q.weight", 64, 64));
        Assert.Equal(GgmlType.F32, T("blk.0.attn_norm.weight", 64));
        Assert.Equal(GgmlType.F32, T("blk.0.attn_q.bias", 64));
        Assert.Equal(GgmlType.F32, T("position_embd.weight", 256, 64));
        Assert.Equal(GgmlType.F32, T("rope_freqs.weight", 8));
        Assert.Equal(GgmlType.F16, T("blk.0.ffn_down.weight", 64, 48)); // rows of 48 are not whole Q8_0 blocks
    }

    [Fact]
    public void FamiliesWithoutAMappingAndUnknownPreTokenizersAreRefusedByName()
    {
        var phi3 = ModelPresets.Get("tiny-phi3");
        Assert.Contains("Phi3ForCausalLM", Assert.Throws<ModelFormatException>(() => GgufArchitectures.For(phi3)).Message);
        var dir = TestPaths.TempDir();
        File.WriteAllText(Path.Combine(dir, "tokenizer.json"), """{"model":{"type":"BPE","vocab":{"a":0},"merges":[]},"pre_tokenizer":{"type":"Whitespace"}}""");
        var e = Assert.Throws<ModelFormatException>(() => GgufTokenizer.Metadata(dir, TinyModels.Config("llama")));
        Assert.Contains("Whitespace", e.Message);
        Assert.Contains("not one llama.cpp knows", e.Message);
    }

    [Fact]
    public void TokenizerMetadataFollowsSpecialVocab()
    {
        var dir = TinyModels.Folder("gpt2", trained: false);
        var m = GgufTokenizer.Metadata(dir, TinyModels.Config("gpt2")).ToDictionary(e => e.Key, e => e.Value);
        Assert.Equal("gpt2", m["tokenizer.ggml.model"]);
        Assert.Equal("gpt-2", m["tokenizer.ggml.pre"]);
        var tokens = (string[])m["tokenizer.ggml.tokens"];
        Assert.Equal(50257, tokens.Length);
        Assert.Equal("<|endoftext|>", tokens[50256]);
        Assert.Equal((int)GgufTokenType.Control, ((int[])m["tokenizer.ggml.token_type"])[50256]);
        Assert.Equal((int)GgufTokenType.Normal, ((int[])m["tokenizer.ggml.token_type"])[0]);
        Assert.Equal(50000, ((string[])m["tokenizer.ggml.merges"]).Length);
        Assert.Equal("Ġ t", ((string[])m["tokenizer.ggml.merges"])[0]);
        Assert.Equal(50256u, m["tokenizer.ggml.bos_token_id"]);
        Assert.Equal(50256u, m["tokenizer.ggml.eos_token_id"]);
        Assert.Equal(false, m["tokenizer.ggml.add_bos_token"]);
        Assert.StartsWith("{% for m in messages %}", (string)m["tokenizer.chat_template"]);
    }

    /// <summary>
    /// Gemma 3 settings llama.cpp's gemma3 does not read are refused, naming the setting, instead of exporting a file
    /// llama.cpp would run as another model; the tiny test model's own settings pass.
    /// </summary>
    [Fact]
    public void Gemma3SettingsLlamaCppWouldIgnoreAreRefused()
    {
        var ok = TinyModels.Config("gemma3");
        Assert.Contains(new Gemma3Gguf().Metadata(ok), e => e.Key == "gemma3.attention.sliding_window");
        (ModelConfig Config, string Names)[] bad =
        [
            (ok with { FinalLogitSoftcapping = 30 }, "final_logit_softcapping"),
            (ok with { QueryPreAttnScalar = 64 }, "query_pre_attn_scalar"),
            (ok with { RopeLocalTheta = 20000 }, "rope_local_base_freq"),
            (ok with { LayerTypes = [.. Enumerable.Repeat("sliding_attention", 6)] }, "layer 5 is sliding_attention"),
        ];
        foreach (var (c, name) in bad)
            Assert.Contains(name, Assert.Throws<ModelFormatException>(() => new Gemma3Gguf().Metadata(c).ToList()).Message);
        // a window as long as the context changes nothing: any layer pattern is then fine
        new Gemma3Gguf().Metadata(ok with { SlidingWindow = 256, LayerTypes = [.. Enumerable.Repeat("sliding_attention", 6)] }).ToList();
    }
}
