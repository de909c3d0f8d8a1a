using Distill.Models.Formats;
using Distill.Models.Lora;
using Distill.Tensors;
using Distill.Tensors.Autograd;
using Distill.Tensors.Autograd.Ops;

namespace Distill.Models.Tests.Lora;

/// <summary>LoRA invariants (B = 0 is the base; merged = unmerged), gradient check, PEFT round trip, QLoRA.</summary>
public class LoraModelTests
{
    static readonly int[] Ids = [5, 17, 3, 42, 8, 63, 0, 21, 60, 1, 1, 33, 7, 12, 50, 2];
    static readonly int[] Targets = [17, 3, 42, 8, 63, 0, 21, 9, 1, 1, 33, 7, 12, 50, 2, 44];

    static CausalLM Reference(string name) => ModelIO.Load(TestPaths.Reference("models", name));

    static float[] Logits(CausalLM m)
    {
        using var tape = new Tape { NoGrad = true };
        return m.Forward(tape, Ids, 2).Span.ToArray();
    }

    static double MaxDiff(float[] a, float[] b) => a.Zip(b).Max(p => Math.Abs(p.First - p.Second));

    static void RandomizeB(CausalLM m, ulong seed)
    {
        var rng = new Rng(seed);
        foreach (var b in LoraModel.Branches(m)) rng.FillNormal(b.B.Span, 0, 0.1f);
    }

    [Theory]
    [InlineData("llama", new[] { "q_proj", "k_proj", "v_proj", "o_proj" })]
    [InlineData("gpt2", new[] { "c_attn", "c_fc" })]
    [InlineData("phi", new[] { "q_proj", "v_proj", "fc1", "fc2" })]
    [InlineData("phi3", new[] { "qkv_proj", "o_proj", "gate_up_proj", "down_proj" })]
    [InlineData("qwen3", new[] { "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj" })]
    [InlineData("gemma3", new[] { "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj" })]
    public void FreshAdapterEqualsBaseAndMergedEqualsUnmerged(string name, string[] targets)
    {
        using var model = Reference(name);
        var baseLogits = Logits(model);
        var branches = LoraModel.Apply(model, new LoraConfig { R = 4, LoraAlpha = 8, TargetModules = targets }, seed: 1);
        Assert.Equal(model.Config.NumLayers * targets.Length, branches.Count);
        Assert.Equal(baseLogits, Logits(model)); // B = 0 → exactly the base
        RandomizeB(model, 2);
        var unmerged = Logits(model);
        Assert.True(MaxDiff(baseLogits, unmerged) > 1e-3, "the adapter changes the output");
        LoraModel.MergeAndUnload(model);
        Assert.Empty(LoraModel.Branches(model));
        Assert.True(MaxDiff(unmerged, Logits(model)) < 2e-5, $"merged vs unmerged: {MaxDiff(unmerged, Logits(model)):E2}");
    }

    [Theory]
    [InlineData("llama", false)]
    [InlineData("phi", false)]
    [InlineData("qwen2", true)]
    [InlineData("mistral", false)]          // window 4 < T = 8: training past the window
    [InlineData("qwen2-window", false)]     // layer 1 slides (window 4), layer 0 does not
    [InlineData("phi3", false, "qkv_proj,gate_up_proj")]  // the fused projections: B spans q, k, v (gate, up) at once
    [InlineData("phi3", true, "qkv_proj,o_proj,down_proj")]
    // issue 18: q_proj / k_proj feed the per-head q/k norms; Gemma's (1 + w) norms, GELU-tanh MLP and final softcap 3
    [InlineData("qwen3", false, "q_proj,k_proj,v_proj,o_proj")]
    [InlineData("qwen3-v5", true, "q_proj,k_proj,gate_proj,up_proj,down_proj")]   // attention biases, window 4 on layer 1
    [InlineData("gemma3", false, "q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj")]
    [InlineData("gemma3-v5", true, "q_proj,k_proj,down_proj")]
    public void GradientOfLoraMatricesMatchesFiniteDifferences(string name, bool qlora, string targets = "q_proj,v_proj,down_proj,fc2")
    {
        using var model = Reference(name);
        if (qlora) LoraModel.QuantizeBase(model);
        LoraModel.Apply(model, new LoraConfig { R = 2, LoraAlpha = 4, TargetModules = targets.Split(','), UseRslora = true }, seed: 3);
        RandomizeB(model, 4);
        using var tape = new Tape();
        float Loss()
        {
            tape.Reset();
            tape.NoGrad = true;
            var l = CrossEntropy.Forward(tape, model.Forward(tape, Ids, 2), Targets)[0];
            tape.NoGrad = false;
            return l;
        }
        tape.Reset();
        var loss = CrossEntropy.Forward(tape, model.Forward(tape, Ids, 2), Targets);
        tape.Backward(loss);
        var rng = new Random(7);
        int checkedCount = 0;
        foreach (var branch in LoraModel.Branches(model))
            foreach (var p in new[] { branch.A, branch.B })
            {
                Assert.NotNull(p.Grad);
                for (int trial = 0; trial < 3; trial++)
                {
                    int i = rng.Next(p.Length);
                    float saved = p.Span[i], eps = 1e-2f;
                    p.Span[i] = saved + eps; float up = Loss();
                    p.Span[i] = saved - eps; float down = Loss();
                    p.Span[i] = saved;
                    double fd = (up - (double)down) / (2 * eps), g = p.Grad!.Span[i];
                    Assert.True(Math.Abs(fd - g) <= 1e-3 + 3e-2 * Math.Abs(g), $"{p.Name}[{i}]: backward {g:E4}, finite difference {fd:E4}");
                    checkedCount++;
                }
            }
        Assert.True(checkedCount >= 24);
        // the base stays frozen: no gradient buffers
        Assert.All(model.Weights.Where(w => !qlora || !w.Name.EndsWith("proj.weight")), w => Assert.Null(w.Parameter.Grad));
    }

    [Fact]
    public void PeftRoundTripReproducesTheOutputs()
    {
        var config = new LoraConfig { R = 4, LoraAlpha = 16, LoraDropout = 0.1, TargetModules = ["q_proj", "v_proj"], BaseModelNameOrPath = "llama" };
        var dir = TestPaths.TempDir();
        float[] expected;
        using (var model = Reference("llama"))
        {
            LoraModel.Apply(model, config, seed: 5);
            RandomizeB(model, 6);
            expected = Logits(model);
            LoraModel.Save(model, config, dir);
        }
        using (var model = Reference("llama"))
        {
            var loaded = LoraModel.Load(model, dir);
            Assert.Equal(config.ToJson().ToJsonString(), loaded.ToJson().ToJsonString());
            Assert.Equal(expected, Logits(model));
        }
        using (var gpt2 = Reference("gpt2"))
            Assert.Contains("module 'model.layers.0.self_attn.q_proj' does not exist in GPT2LMHeadModel",
                Assert.Throws<ModelFormatException>(() => LoraModel.Load(gpt2, dir)).Message);
    }

    // Phi-3's fused modules in PEFT layout: lora_A [r, in], lora_B [(heads + 2·kv_heads)·hd, r] for qkv_proj and
    // [2·intermediate, r] for gate_up_proj, under PEFT's key names; loading the folder reproduces the logits.
    [Fact]
    public void PeftRoundTripOnFusedPhi3Modules()
    {
        var config = new LoraConfig { R = 4, LoraAlpha = 8, TargetModules = ["qkv_proj", "gate_up_proj"], BaseModelNameOrPath = "phi3" };
        var dir = TestPaths.TempDir();
        float[] expected;
        using (var model = Reference("phi3"))
        {
            LoraModel.Apply(model, config, seed: 5);
            RandomizeB(model, 6);
            expected = Logits(model);
            LoraModel.Save(model, config, dir);
        }
        using (var f = SafetensorsFile.Open(Path.Combine(dir, CheckpointNames.AdapterWeights)))
        {
            Assert.Equal([4L, 32L], f.Info("base_model.model.model.layers.1.self_attn.qkv_proj.lora_A.weight").Shape);
            Assert.Equal([64L, 4L], f.Info("base_model.model.model.layers.1.self_attn.qkv_proj.lora_B.weight").Shape);  // (4 + 2·2)·8
            Assert.Equal([96L, 4L], f.Info("base_model.model.model.layers.0.mlp.gate_up_proj.lora_B.weight").Shape);   // 2·48
            Assert.Equal(8, f.Tensors.Count);
        }
        using (var model = Reference("phi3"))
        {
            LoraModel.Load(model, dir);
            Assert.Equal(expected, Logits(model));
        }
    }

    [Fact]
    public void MergeAndSaveGivesAPlainCheckpoint()
    {
        var dir = TestPaths.TempDir();
        float[] expected;
        using (var model = Reference("phi"))
        {
            LoraModel.Apply(model, new LoraConfig { R = 2, LoraAlpha = 2, TargetModules = ["q_proj", "fc1"] }, seed: 8);
            RandomizeB(model, 9);
            expected = Logits(model);
            LoraModel.MergeAndUnload(model);
            ModelIO.Save(model, dir);
        }
        using var merged = ModelIO.Load(dir);
        Assert.True(MaxDiff(expected, Logits(merged)) < 2e-5);
    }

    [Fact]
    public void QLoraLogitsStayCloseToFp32AndUseUnderPointSixBytesPerParameter()
    {
        using var model = Reference("qwen2");
        var fp32 = Logits(model);
        var (bytes, n) = LoraModel.QuantizeBase(model);
        double bytesPerParam = (double)bytes / n;
        Assert.True(bytesPerParam <= 0.6, $"{bytesPerParam:F3} bytes per parameter");
        var nf4 = Logits(model);
        // the fused NF4 path computes exactly what fp32 does with the dequantized weights
        using (var dense = Reference("qwen2"))
        {
            foreach (var (q, d) in model.Linears.Zip(dense.Linears))
                if (q.Quantized is not null) d.SetDenseWeight(q.DenseWeight());
            Assert.True(MaxDiff(Logits(dense), nf4) < 1e-5);
        }
        // against fp32: tiny random weights N(0, 0.2²) in 2 layers; NF4's ≈ 10% relative weight error reaches the logits
        double num = 0, den = 0;
        for (int i = 0; i < fp32.Length; i++) { num += (nf4[i] - fp32[i]) * (double)(nf4[i] - fp32[i]); den += fp32[i] * (double)fp32[i]; }
        double relRms = Math.Sqrt(num / den);
        Assert.InRange(relRms, 1e-3, 0.3);
        Assert.Throws<InvalidOperationException>(() => ModelIO.Save(model, TestPaths.TempDir()));
    }

    [Fact]
    public void TargetsThatMatchNothingAreAnError()
    {
        using var model = Reference("gpt2");
        Assert.Contains("match no linear", Assert.Throws<ArgumentException>(() => LoraModel.Apply(model, new LoraConfig { TargetModules = ["q_proj"] }, 1)).Message);
    }
}
