using Distill.Models.Formats;
using Distill.Models.Lora;

namespace Distill.Models.Tests.Lora;

public class PeftFormatTests
{
    // adapter_config.json as peft 0.10 writes it for Phi-2 with the DPO-KD settings (r 64, α 16, dropout 0.1).
    const string PeftWritten = """
    {"alpha_pattern": {}, "auto_mapping": null, "base_model_name_or_path": "microsoft/phi-2", "bias": "none",
     "fan_in_fan_out": false, "inference_mode": true, "init_lora_weights": true, "layer_replication": null,
     "layers_pattern": null, "layers_to_transform": null, "loftq_config": {}, "lora_alpha": 16, "lora_dropout": 0.1,
     "megatron_config": null, "megatron_core": "megatron.core", "modules_to_save": null, "peft_type": "LORA", "r": 64,
     "rank_pattern": {}, "revision": null, "target_modules": ["q_proj", "v_proj", "fc1", "fc2"], "task_type": "CAUSAL_LM",
     "use_dora": false, "use_rslora": false}
    """;

    static string Write(string json)
    {
        var dir = TestPaths.TempDir();
        File.WriteAllText(Path.Combine(dir, CheckpointNames.AdapterConfig), json);
        return dir;
    }

    [Fact]
    public void ReadsAConfigPeftWrote()
    {
        var c = LoraConfig.Load(Write(PeftWritten));
        Assert.Equal((64, 16.0, 0.1, false), (c.R, c.LoraAlpha, c.LoraDropout, c.UseRslora));
        Assert.Equal(["q_proj", "v_proj", "fc1", "fc2"], c.TargetModules);
        Assert.Equal("microsoft/phi-2", c.BaseModelNameOrPath);
        Assert.Equal(0.25, c.Scaling);
        Assert.Equal(16 / 8.0, (c with { UseRslora = true }).Scaling);
        Assert.True(c.Targets("model.layers.3.self_attn.q_proj"));
        Assert.True(c.Targets("model.layers.0.mlp.fc1"));
        Assert.False(c.Targets("model.layers.0.self_attn.k_proj"));
        Assert.False(c.Targets("model.layers.0.self_attn.xq_proj")); // whole components only
    }

    [Fact]
    public void RegexTargetsMatchTheWholePath()
    {
        var c = LoraConfig.Load(Write("""{"peft_type":"LORA","r":4,"lora_alpha":8,"target_modules":".*layers\\.0\\..*(q|v)_proj"}"""));
        Assert.True(c.Targets("model.layers.0.self_attn.q_proj"));
        Assert.False(c.Targets("model.layers.1.self_attn.q_proj"));
        Assert.False(c.Targets("model.layers.0.self_attn.q_proj.extra"));
    }

    [Theory]
    [InlineData("""{"peft_type":"PREFIX_TUNING"}""", "'peft_type' is 'PREFIX_TUNING'")]
    [InlineData("""{"peft_type":"LORA","r":8,"target_modules":["q_proj"],"bias":"all"}""", "'bias' = 'all' is not supported")]
    [InlineData("""{"peft_type":"LORA","r":8,"target_modules":["q_proj"],"use_dora":true}""", "'use_dora' = true")]
    [InlineData("""{"peft_type":"LORA","r":8,"target_modules":["q_proj"],"rank_pattern":{"q_proj":4}}""", "'rank_pattern'")]
    [InlineData("""{"peft_type":"LORA","r":8,"target_modules":["q_proj"],"modules_to_save":["lm_head"]}""", "'modules_to_save'")]
    [InlineData("""{"peft_type":"LORA","r":0,"target_modules":["q_proj"]}""", "rank r must be positive")]
    [InlineData("""{"peft_type":"LORA","r":8,"target_modules":[1]}""", "'target_modules[0]' must be a string")]
    [InlineData("""{"peft_type":"LORA","r":8,"target_modules":["q_proj"],"task_type":"SEQ_CLS"}""", "'task_type' = 'SEQ_CLS'")]
    public void UnsupportedAdapterOptionsAreNamed(string json, string expected)
        => Assert.Contains(expected, Assert.Throws<ModelFormatException>(() => LoraConfig.Load(Write(json))).Message);

    [Fact]
    public void AdapterRoundTripsWithPeftKeyNames()
    {
        var config = new LoraConfig { R = 2, LoraAlpha = 4, LoraDropout = 0.05, TargetModules = ["q_proj", "o_proj"], UseRslora = true, BaseModelNameOrPath = "tiny" };
        var pairs = new[]
        {
            new LoraPair("model.layers.0.self_attn.q_proj", 2, 3, 4, [1, 2, 3, 4, 5, 6], [1, 2, 3, 4, 5, 6, 7, 8]),
            new LoraPair("model.layers.0.self_attn.o_proj", 2, 4, 3, [.1f, .2f, .3f, .4f, .5f, .6f, .7f, .8f], [-1, -2, -3, -4, -5, -6]),
        };
        var dir = TestPaths.TempDir();
        config.Save(dir);
        PeftAdapterWeights.Save(dir, pairs);
        using (var f = SafetensorsFile.Open(Path.Combine(dir, CheckpointNames.AdapterWeights)))
        {
            Assert.Equal([2L, 3L], f.Info("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight").Shape);
            Assert.Equal([4L, 2L], f.Info("base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight").Shape);
            Assert.Equal(4, f.Tensors.Count);
        }
        var loadedConfig = LoraConfig.Load(dir);
        Assert.Equal(config.ToJson().ToJsonString(), loadedConfig.ToJson().ToJsonString());
        var loaded = PeftAdapterWeights.Load(dir, loadedConfig.R).ToDictionary(p => p.ModulePath);
        foreach (var p in pairs)
        {
            var l = loaded[p.ModulePath];
            Assert.Equal((p.R, p.InFeatures, p.OutFeatures), (l.R, l.InFeatures, l.OutFeatures));
            Assert.Equal(p.A, l.A);
            Assert.Equal(p.B, l.B);
        }
    }

    [Fact]
    public void BadAdapterWeightsAreNamed()
    {
        var dir = TestPaths.TempDir();
        SafetensorsWriter.Write(Path.Combine(dir, CheckpointNames.AdapterWeights),
            [new NamedTensor("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", [2, 3], new float[6])]);
        Assert.Contains("missing tensor 'base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight'",
            Assert.Throws<ModelFormatException>(() => PeftAdapterWeights.Load(dir, 2)).Message);
        SafetensorsWriter.Write(Path.Combine(dir, CheckpointNames.AdapterWeights), [new NamedTensor("model.layers.0.q_proj.weight", [1], new float[1])]);
        Assert.Contains("'model.layers.0.q_proj.weight' is not a PEFT LoRA weight", Assert.Throws<ModelFormatException>(() => PeftAdapterWeights.Load(dir, 2)).Message);
        PeftAdapterWeights.Save(dir, [new LoraPair("m", 2, 3, 4, new float[6], new float[8])]);
        Assert.Contains("with r = 4", Assert.Throws<ModelFormatException>(() => PeftAdapterWeights.Load(dir, 4)).Message);
    }
}
