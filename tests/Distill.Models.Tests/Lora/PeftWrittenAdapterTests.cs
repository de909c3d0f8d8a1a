using System.Text.Json;
using System.Text.Json.Nodes;
using Distill.Models.Formats;
using Distill.Models.Lora;
using Distill.Tensors.Autograd;

namespace Distill.Models.Tests.Lora;

/// <summary>
/// Issue 17 §3: an adapter in the layout PEFT/TRL write (reference/make_peft_adapter.py: peft 0.13's adapter_config.json
/// keys and get_peft_model_state_dict names, outputs from PEFT's unmerged lora.Linear forward in plain torch) loads and
/// gives PEFT's logits and greedy tokens, attached and after merging; adapters made for another base are refused with
/// the reason.
/// </summary>
public class PeftWrittenAdapterTests
{
    static readonly string Base = TestPaths.Reference("models", "llama");
    static readonly string Adapter = TestPaths.Reference("models", "llama-peft");

    sealed record Expected(int[][] input_ids, int[] shape, float[] logits, Greedy greedy);
    sealed record Greedy(int[] prompt, int[] tokens);

    static Expected Load() => JsonSerializer.Deserialize<Expected>(File.ReadAllText(Path.Combine(Adapter, "expected.json")))!;

    static void AssertLogits(CausalLM model, Expected e)
    {
        using var tape = new Tape { NoGrad = true };
        var ids = e.input_ids.SelectMany(r => r).ToArray();
        var logits = model.Forward(tape, ids, e.input_ids.Length).Span.ToArray();
        Assert.Equal(e.logits.Length, logits.Length);
        float max = 0;
        for (int i = 0; i < logits.Length; i++) max = MathF.Max(max, MathF.Abs(logits[i] - e.logits[i]));
        Assert.True(max < 1e-4f, $"max |Δ logit| = {max}");
        var seq = e.greedy.prompt.ToList();
        foreach (var _ in e.greedy.tokens)
        {
            using var t = new Tape { NoGrad = true };
            var row = model.Forward(t, seq.ToArray(), 1).Span.Slice((seq.Count - 1) * model.Config.VocabSize, model.Config.VocabSize);
            int best = 0;
            for (int v = 1; v < row.Length; v++) if (row[v] > row[best]) best = v;
            seq.Add(best);
        }
        Assert.Equal(e.greedy.tokens, seq.Skip(e.greedy.prompt.Length));
    }

    [Fact]
    public void APeftAdapterGivesPeftsOutputsAttachedAndMerged()
    {
        var e = Load();
        using var model = ModelIO.Load(Base);
        var config = LoraModel.Load(model, Adapter);
        Assert.Equal((4, 8.0, 0.05), (config.R, config.LoraAlpha, config.LoraDropout));
        Assert.Equal(8, LoraModel.Branches(model).Count());
        AssertLogits(model, e);
        LoraModel.MergeAndUnload(model);
        Assert.Empty(LoraModel.Branches(model));
        AssertLogits(model, e);
    }

    static string CopyAdapter(Action<JsonObject>? editConfig = null)
    {
        var dir = TestPaths.TempDir();
        foreach (var f in new[] { CheckpointNames.AdapterConfig, CheckpointNames.AdapterWeights }) File.Copy(Path.Combine(Adapter, f), Path.Combine(dir, f));
        if (editConfig is null) return dir;
        var path = Path.Combine(dir, CheckpointNames.AdapterConfig);
        var json = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        editConfig(json);
        File.WriteAllText(path, json.ToJsonString());
        return dir;
    }

    [Fact]
    public void AnAdapterForAnotherArchitectureIsRefused()
    {
        using var gpt2 = ModelIO.Load(TestPaths.Reference("models", "gpt2"));
        var e = Assert.Throws<ModelFormatException>(() => LoraModel.Load(gpt2, Adapter));
        Assert.Contains("does not exist in GPT2LMHeadModel", e.Message);
    }

    [Fact]
    public void AnAdapterWithWeightsTargetModulesDoesNotSelectIsRefused()
    {
        using var model = ModelIO.Load(Base);
        var dir = CopyAdapter(c => c["target_modules"] = new JsonArray("q_proj", "v_proj", "o_proj"));
        Assert.Contains("'model.layers.0.mlp.down_proj' has LoRA weights but target_modules", Assert.Throws<ModelFormatException>(() => LoraModel.Load(model, dir)).Message);
    }

    [Fact]
    public void AnAdapterMissingATargetedModuleIsRefused()
    {
        using var model = ModelIO.Load(Base);
        var dir = CopyAdapter(c => c["target_modules"] = new JsonArray("q_proj", "k_proj", "v_proj", "o_proj", "down_proj"));
        Assert.Contains("target_modules selects 'model.layers.0.self_attn.k_proj' in LlamaForCausalLM but the adapter has no weights for it",
            Assert.Throws<ModelFormatException>(() => LoraModel.Load(model, dir)).Message);
    }

    [Fact]
    public void ANamedLocalBaseOfAnotherShapeIsRefused()
    {
        // the same adapter on the Qwen2 reference: equal module names and shapes, but base_model_name_or_path names the Llama folder
        using var qwen2 = ModelIO.Load(TestPaths.Reference("models", "qwen2"));
        var dir = CopyAdapter(c => c["base_model_name_or_path"] = Base);
        var e = Assert.Throws<ModelFormatException>(() => LoraModel.Load(qwen2, dir));
        Assert.Contains($"base_model_name_or_path '{Base}' is a different model (architecture LlamaForCausalLM there, Qwen2ForCausalLM here", e.Message);
        using var llama = ModelIO.Load(Base);
        LoraModel.Load(llama, dir); // the folder it names: accepted
    }
}
