using Distill.Cli.Commands;
using Distill.Models;
using Distill.Models.Formats;
using Distill.Models.Formats.Gguf;
using Distill.Models.Lora;
using Distill.Tensors.Autograd;

namespace Distill.Cli.Tests;

/// <summary>
/// `distill export`: hf (adapter merged; the folder computes what base + adapter computed), peft (the adapter alone,
/// the same tensors), gguf (the merged weights under llama.cpp's names); an adapter for another base exits 2 naming why.
/// llama.cpp running the GGUF files is tests/Distill.Export.Tests.
/// </summary>
[Collection("console")]
public class ExportCommandTests
{
    static readonly int[] Ids = [464, 2068, 7586, 21831, 18045, 625, 262, 16931, 3290, 13];

    static (string Model, string Adapter) TinyWithAdapter()
    {
        var root = Directory.CreateTempSubdirectory("export-cli").FullName;
        string model = Path.Combine(root, "model"), adapter = Path.Combine(root, "adapter");
        ModelFolder.Init(ModelFolder.ResolveConfig("tiny", CliHarness.Data("tokenizers", "gpt2")), CliHarness.Data("tokenizers", "gpt2"), model, 3, SafetensorsDType.F32);
        using var m = ModelIO.Load(model);
        var config = new LoraConfig { R = 4, LoraAlpha = 8, TargetModules = ["q_proj", "v_proj", "down_proj"] };
        LoraModel.Apply(m, config, seed: 5);
        var rng = new Distill.Tensors.Rng(9);
        foreach (var b in LoraModel.Branches(m)) rng.FillNormal(b.B.Span, 0, 0.05f); // a trained adapter: B ≠ 0
        LoraModel.Save(m, config, adapter);
        return (model, adapter);
    }

    static float[] Logits(CausalLM m)
    {
        using var tape = new Tape { NoGrad = true };
        return m.Forward(tape, Ids, 1).Span.ToArray();
    }

    [Fact]
    public void HfExportMergesTheAdapterAndCarriesTheTokenizerFiles()
    {
        var (model, adapter) = TinyWithAdapter();
        var outDir = Path.Combine(Path.GetDirectoryName(model)!, "hf");
        var (exit, stdout, err) = CliHarness.Run(new ExportCommand().Build(), "--model", model, "--adapter", adapter, "--format", "hf", "--out", outDir);
        Assert.True(exit == 0, err);
        Assert.Contains("LoRA modules merged", stdout);
        foreach (var f in new[] { "config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "generation_config.json" })
            Assert.True(File.Exists(Path.Combine(outDir, f)), f);
        float[] expected;
        using (var withAdapter = ModelIO.Load(model)) { LoraModel.Load(withAdapter, adapter); expected = Logits(withAdapter); }
        using var merged = ModelIO.Load(outDir);
        var actual = Logits(merged);
        Assert.All(Enumerable.Range(0, expected.Length), i => Assert.True(MathF.Abs(expected[i] - actual[i]) < 1e-4f, $"logit {i}: {actual[i]} vs {expected[i]}"));
        using (var baseModel = ModelIO.Load(model))
            Assert.True(Logits(baseModel).Zip(expected).Max(p => MathF.Abs(p.First - p.Second)) > 1e-3f, "the adapter changes nothing; the test would prove little");
    }

    [Fact]
    public void PeftExportWritesTheSameAdapterInPeftLayout()
    {
        var (model, adapter) = TinyWithAdapter();
        var outDir = Path.Combine(Path.GetDirectoryName(model)!, "peft");
        var (exit, _, err) = CliHarness.Run(new ExportCommand().Build(), "--model", model, "--adapter", adapter, "--format", "peft", "--out", outDir);
        Assert.True(exit == 0, err);
        var a = PeftAdapterWeights.Load(adapter, 4).ToDictionary(p => p.ModulePath);
        var b = PeftAdapterWeights.Load(outDir, 4);
        Assert.Equal(a.Count, b.Count);
        foreach (var p in b) { Assert.Equal(a[p.ModulePath].A, p.A); Assert.Equal(a[p.ModulePath].B, p.B); }
        using var f = SafetensorsFile.Open(Path.Combine(outDir, CheckpointNames.AdapterWeights));
        Assert.Contains("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", f.Tensors.Keys);
    }

    [Fact]
    public void GgufExportHoldsTheMergedWeightsUnderLlamaCppNames()
    {
        var (model, adapter) = TinyWithAdapter();
        var file = Path.Combine(Path.GetDirectoryName(model)!, "m.gguf");
        var (exit, stdout, err) = CliHarness.Run(new ExportCommand().Build(), "--model", model, "--adapter", adapter, "--format", "gguf", "--out", file);
        Assert.True(exit == 0, err);
        Assert.Contains("architecture llama", stdout);
        var g = GgufFile.Open(file);
        Assert.Equal("llama", g.Get("general.architecture"));
        using var m = ModelIO.Load(model);
        LoraModel.Load(m, adapter);
        LoraModel.MergeAndUnload(m);
        var v = m.Weights.First(w => w.Name == "model.layers.1.self_attn.v_proj.weight").Parameter.Span.ToArray();
        Assert.Equal(v, g.ReadFloat32("blk.1.attn_v.weight"));
        var q = m.Weights.First(w => w.Name == "model.layers.1.self_attn.q_proj.weight").Parameter.Span.ToArray();
        Assert.Equal(LlamaGguf.PermuteRows(q, m.Config.NumHeads, m.Config.HiddenSize), g.ReadFloat32("blk.1.attn_q.weight"));
    }

    [Fact]
    public void AnAdapterForAnotherBaseIsRefusedWithTheReason()
    {
        var (model, adapter) = TinyWithAdapter();
        var other = Path.Combine(Path.GetDirectoryName(model)!, "other");
        var config = ModelFolder.ResolveConfig("tiny", CliHarness.Data("tokenizers", "gpt2")) with { NumLayers = 1 };
        ModelFolder.Init(config, CliHarness.Data("tokenizers", "gpt2"), other, 3, SafetensorsDType.F32);
        var (exit, _, err) = CliHarness.Run(new ExportCommand().Build(), "--model", other, "--adapter", adapter, "--format", "hf", "--out", other + "-out");
        Assert.Equal(2, exit);
        Assert.StartsWith("distill export: ", err);
        Assert.Contains("module 'model.layers.1.mlp.down_proj' does not exist in LlamaForCausalLM (1 layers); the adapter was made for another base model", err);
        Assert.Single(err.Trim().Split('\n'));
    }
}
