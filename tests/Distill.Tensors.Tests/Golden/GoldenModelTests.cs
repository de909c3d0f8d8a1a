using System.Text.Json;
using Distill.Bench.Models;
using Distill.Tensors.Autograd;
using Distill.Tensors.Autograd.Ops;

namespace Distill.Tensors.Tests.Golden;

/// <summary>
/// Logits, loss and every gradient of tiny torch_baseline.py models (reference/golden_models.py,
/// PyTorch 1.13, weights from the same file) against the engine. Tolerance per tensor:
/// max |ours − torch| ≤ 1e-4 · max |torch| + 1e-6 — float32 on both sides with different summation
/// orders gives ≈ 1e-6 relative per op, compounding over two layers and the backward to ≈ 1e-5;
/// a wrong term (a missing scale, a transposed head) shows up at ≥ 1e-2.
/// </summary>
public class GoldenModelTests
{
    [Theory]
    [InlineData("gpt2")]
    [InlineData("llama")]
    [InlineData("llama_lora")]
    public void LogitsLossAndGradientsMatchPyTorch(string name)
    {
        var meta = Reference.Json($"golden_{name}.json");
        var data = File.ReadAllBytes(Path.Combine(Reference.Dir(), $"golden_{name}.bin"));
        var floats = new float[data.Length / 4];
        Buffer.BlockCopy(data, 0, floats, 0, data.Length);
        var index = meta.GetProperty("tensors").EnumerateArray()
            .ToDictionary(t => t.GetProperty("name").GetString()!, t => (Offset: t.GetProperty("offset").GetInt32(), Len: t.GetProperty("shape").EnumerateArray().Aggregate(1, (a, d) => a * d.GetInt32())));
        ReadOnlySpan<float> Get(string n) => floats.AsSpan(index[n].Offset, index[n].Len);

        var c = meta.GetProperty("config");
        var cfg = new TransformerConfig(meta.GetProperty("arch").GetString()!, c.GetProperty("V").GetInt32(), c.GetProperty("T").GetInt32(),
            c.GetProperty("B").GetInt32(), c.GetProperty("L").GetInt32(), c.GetProperty("C").GetInt32(), c.GetProperty("H").GetInt32(),
            c.GetProperty("llama_hidden").GetInt32(), meta.GetProperty("lora").GetInt32(), meta.GetProperty("max_pos").GetInt32());
        using var model = new TinyTransformer(cfg, new Rng(0));
        Assert.Equal(index.Keys.Count(k => !k.StartsWith("grad:") && k != "logits"), model.Parameters.Count);
        foreach (var p in model.Parameters)
        {
            var src = Get(p.Name);
            Assert.Equal(src.Length, p.Length);
            src.CopyTo(p.Span);
            Assert.Equal(index.ContainsKey("grad:" + p.Name), p.Trainable);
        }
        int[] ids = meta.GetProperty("inputs").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        int[] targets = meta.GetProperty("targets").EnumerateArray().Select(e => e.GetInt32()).ToArray();

        using var tape = new Tape();
        var logits = model.Forward(tape, ids, cfg.Batch, cfg.SeqLen);
        Close("logits", Get("logits"), logits.Span);
        var loss = CrossEntropy.Forward(tape, logits, targets, overwriteLogits: true);
        Assert.Equal(meta.GetProperty("loss").GetDouble(), loss[0], 5);
        tape.Backward(loss);
        foreach (var p in model.Parameters.Where(p => p.Trainable)) Close("grad:" + p.Name, Get("grad:" + p.Name), p.Grad!.Span);
    }

    static void Close(string what, ReadOnlySpan<float> expected, ReadOnlySpan<float> actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        float scale = 0, worst = 0;
        int at = 0;
        for (int i = 0; i < expected.Length; i++) scale = Math.Max(scale, Math.Abs(expected[i]));
        for (int i = 0; i < expected.Length; i++)
        {
            float d = Math.Abs(expected[i] - actual[i]);
            if (d > worst) { worst = d; at = i; }
        }
        Assert.True(scale > 0, $"{what}: reference is all zeros");
        Assert.True(worst <= 1e-4f * scale + 1e-6f, $"{what}: max |diff| {worst:G3} at [{at}] ({actual[at]} vs torch {expected[at]}), scale {scale:G3}");
    }
}
