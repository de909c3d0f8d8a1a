using System.Text.Json.Nodes;
using Distill.Models.Formats;

namespace Distill.Models.Tests.Config;

public class ConfigJsonTests
{
    static ModelConfig Parse(string json) => ConfigJson.Read(new ConfigJsonReader((JsonObject)JsonNode.Parse(json)!, "config.json"));

    static string Fails(string json) => Assert.Throws<ModelFormatException>(() => Parse(json)).Message;

    static string Canonical(ModelConfig c) => ConfigJson.ToJson(c).ToJsonString();

    static string WriteConfig(ModelConfig c)
    {
        var dir = TestPaths.TempDir();
        ConfigJson.Save(c, dir);
        return Path.Combine(dir, "config.json");
    }

    [Fact]
    public void SmolLM2ConfigAsPublishedEqualsThePreset()
    {
        // HuggingFaceTB/SmolLM2-135M config.json as transformers 4.48 prints it.
        var c = Parse("""
        {"architectures":["LlamaForCausalLM"],"attention_bias":false,"attention_dropout":0.0,"bos_token_id":0,"eos_token_id":0,
         "head_dim":64,"hidden_act":"silu","hidden_size":576,"initializer_range":0.041666666666666664,"intermediate_size":1536,
         "is_llama_config":true,"max_position_embeddings":2048,"mlp_bias":false,"model_type":"llama","num_attention_heads":9,
         "num_hidden_layers":30,"num_key_value_heads":3,"pretraining_tp":1,"rms_norm_eps":1e-05,"rope_interleaved":false,
         "rope_scaling":null,"rope_theta":100000,"tie_word_embeddings":true,"torch_dtype":"bfloat16","use_cache":true,"vocab_size":49152}
        """);
        Assert.Equal(Canonical(ModelPresets.Get("smollm2-135m")), Canonical(c));
        Assert.Equal((576, 30, 9, 3, 64, 1536, 49152), (c.HiddenSize, c.NumLayers, c.NumHeads, c.NumKvHeads, c.HeadDim, c.IntermediateSize, c.VocabSize));
        Assert.True(c.TieWordEmbeddings);
        Assert.Equal(100000, c.RopeTheta);
    }

    [Fact]
    public void Gpt2ConfigAsPublishedEqualsThePreset()
    {
        var c = Parse("""
        {"activation_function":"gelu_new","architectures":["GPT2LMHeadModel"],"attn_pdrop":0.1,"bos_token_id":50256,"embd_pdrop":0.1,
         "eos_token_id":50256,"initializer_range":0.02,"layer_norm_epsilon":1e-05,"model_type":"gpt2","n_ctx":1024,"n_embd":768,
         "n_head":12,"n_layer":12,"n_positions":1024,"resid_pdrop":0.1,"summary_activation":null,"vocab_size":50257}
        """);
        Assert.Equal(Canonical(ModelPresets.Get("gpt2-124m")), Canonical(c));
        Assert.Equal(3072, c.IntermediateSize); // n_inner null → 4 × n_embd
        Assert.True(c.TieWordEmbeddings);      // PretrainedConfig's default
    }

    [Fact]
    public void Phi2Config()
    {
        var c = Parse("""
        {"architectures":["PhiForCausalLM"],"model_type":"phi","hidden_size":2560,"intermediate_size":10240,"num_hidden_layers":32,
         "num_attention_heads":32,"partial_rotary_factor":0.4,"layer_norm_eps":1e-05,"vocab_size":51200,"resid_pdrop":0.1,
         "hidden_act":"gelu_new","qk_layernorm":false,"bos_token_id":50256,"eos_token_id":50256}
        """);
        Assert.Equal((80, 32, 32, false), (c.HeadDim, c.RotaryDim, c.NumKvHeads, c.TieWordEmbeddings));
        Assert.Equal(1e-5, c.NormEps);
        Assert.Equal(0.1, c.ResidDropout);
        Assert.Equal(0.0, c.EmbdDropout);
    }

    [Fact]
    public void Phi3ConfigDefaultsAndMiniConfig()
    {
        var d = Parse("""{"architectures":["Phi3ForCausalLM"]}""");
        Assert.Equal((32064, 3072, 8192, 32, 32, 96, 4096), (d.VocabSize, d.HiddenSize, d.IntermediateSize, d.NumLayers, d.NumKvHeads, d.HeadDim, d.MaxPositionEmbeddings));
        Assert.Equal((1e-5, (int?)null, 96, (int?)32000, false), (d.NormEps, d.SlidingWindow, d.RotaryDim, d.PadTokenId, d.TieWordEmbeddings));
        Assert.Equal([32000], d.EosTokenIds);
        // microsoft/Phi-3-mini-4k-instruct's config.json (the keys that matter)
        var mini = Parse("""
        {"architectures":["Phi3ForCausalLM"],"model_type":"phi3","hidden_size":3072,"intermediate_size":8192,"num_hidden_layers":32,
         "num_attention_heads":32,"num_key_value_heads":32,"max_position_embeddings":4096,"original_max_position_embeddings":4096,
         "rms_norm_eps":1e-05,"rope_scaling":null,"rope_theta":10000.0,"sliding_window":2047,"tie_word_embeddings":false,
         "vocab_size":32064,"bos_token_id":1,"eos_token_id":32000,"pad_token_id":32000,"hidden_act":"silu"}
        """);
        Assert.Equal((2047, ModelFamily.Phi3, "phi3"), (mini.SlidingWindow, mini.Family, mini.ModelType));
        var partial = Parse("""{"architectures":["Phi3ForCausalLM"],"hidden_size":64,"num_attention_heads":4,"partial_rotary_factor":0.75}""");
        Assert.Equal(12, partial.RotaryDim);
        // Phi-3-mini-128k style: longrope, factor = max / original = 32, attention factor √(1 + ln 32 / ln 4096)
        var longrope = Parse("""
        {"architectures":["Phi3ForCausalLM"],"hidden_size":16,"num_attention_heads":2,"max_position_embeddings":131072,
         "original_max_position_embeddings":4096,"rope_scaling":{"type":"longrope","short_factor":[1,1,1,1],"long_factor":[1,2,4,8.5]}}
        """);
        Assert.Equal((32.0, 4096), (longrope.RopeScaling!.Factor, longrope.RopeScaling.OriginalMaxPositionEmbeddings));
        Assert.Equal(Math.Sqrt(1 + Math.Log(32) / Math.Log(4096)), longrope.RopeScaling.AttentionScaling, 12);
        Assert.Equal([1f, 2f, 4f, 8.5f], longrope.RopeScaling.LongFactor!);
        var reloaded = ConfigJsonReader.Load(WriteConfig(longrope));
        Assert.Equal(Canonical(longrope), Canonical(ConfigJson.Read(reloaded)));
        // an explicit rope_scaling.factor wins (current modeling_rope_utils.py) and survives a save
        var explicitFactor = Parse("""
        {"architectures":["Phi3ForCausalLM"],"hidden_size":16,"num_attention_heads":2,"max_position_embeddings":131072,
         "original_max_position_embeddings":4096,"rope_scaling":{"type":"longrope","factor":8.0,"short_factor":[1,1,1,1],"long_factor":[1,2,4,8]}}
        """);
        Assert.Equal(8.0, explicitFactor.RopeScaling!.Factor);
        Assert.Equal(8.0, ConfigJson.Read(ConfigJsonReader.Load(WriteConfig(explicitFactor))).RopeScaling!.Factor);
    }

    [Fact]
    public void ClassDefaultsApplyPerArchitecture()
    {
        Assert.Null(Parse("""{"architectures":["MistralForCausalLM"],"sliding_window":null}""").SlidingWindow); // Mistral v0.2+: explicit null
        var qw = Parse("""{"architectures":["Qwen2ForCausalLM"],"num_hidden_layers":4,"use_sliding_window":true,"max_window_layers":3}""");
        Assert.Equal((4096, 3), (qw.SlidingWindow, qw.SlidingWindowLayers));     // Qwen2Config: sliding_window 4096 by default
        Assert.Null(Parse("""{"architectures":["Qwen2ForCausalLM"],"use_sliding_window":false,"sliding_window":131072}""").SlidingWindow);
        var m = Parse("""{"architectures":["MistralForCausalLM"]}""");
        Assert.Equal((32000, 4096, 14336, 8, 128, 4096, 131072), (m.VocabSize, m.HiddenSize, m.IntermediateSize, m.NumKvHeads, m.HeadDim, m.SlidingWindow, m.MaxPositionEmbeddings));
        var q = Parse("""{"architectures":["Qwen2ForCausalLM"],"hidden_size":64,"num_attention_heads":4}""");
        Assert.Equal((151936, true, false, 4, 16), (q.VocabSize, q.QkvBias, q.OProjBias, q.NumKvHeads, q.HeadDim));
        var l = Parse("""{"model_type":"llama"}""");
        Assert.Equal(("LlamaForCausalLM", 1e-6, false, 32, 2048), (l.Architecture, l.NormEps, l.TieWordEmbeddings, l.NumKvHeads, l.MaxPositionEmbeddings));
        Assert.Equal([2], l.EosTokenIds);
        var multiEos = Parse("""{"architectures":["LlamaForCausalLM"],"eos_token_id":[128001,128008]}""");
        Assert.Equal([128001, 128008], multiEos.EosTokenIds);
    }

    [Fact]
    public void RopeScalingLinearAndLlama3()
    {
        var lin = Parse("""{"architectures":["LlamaForCausalLM"],"rope_scaling":{"type":"linear","factor":2.0}}""");
        Assert.Equal(new RopeScaling("linear", 2.0), lin.RopeScaling);
        var l3 = Parse("""{"architectures":["LlamaForCausalLM"],"max_position_embeddings":131072,"rope_scaling":{"rope_type":"llama3","factor":8.0,"low_freq_factor":1.0,"high_freq_factor":4.0,"original_max_position_embeddings":8192}}""");
        Assert.Equal(new RopeScaling("llama3", 8, 1, 4, 8192), l3.RopeScaling);
        Assert.Null(Parse("""{"architectures":["LlamaForCausalLM"],"rope_scaling":{"rope_type":"default"}}""").RopeScaling);
    }

    [Theory]
    [InlineData("""{"architectures":["BertForMaskedLM"]}""", "'architectures' names 'BertForMaskedLM'")]
    [InlineData("""{"model_type":"t5"}""", "'model_type' 't5' is not supported")]
    [InlineData("""{"architectures":["LlamaForCausalLM"],"model_type":"gpt2"}""", "'model_type' 'gpt2' does not match")]
    [InlineData("""{"architectures":["LlamaForCausalLM"],"rope_scaling":{"rope_type":"yarn","factor":4.0}}""", "'rope_scaling' type 'yarn' is not supported")]
    [InlineData("""{"architectures":["LlamaForCausalLM"],"rope_scaling":{"rope_type":"dynamic","factor":4.0}}""", "'rope_scaling' type 'dynamic'")]
    [InlineData("""{"architectures":["LlamaForCausalLM"],"rope_scaling":{"rope_type":"llama3","factor":8.0}}""", "'rope_scaling.low_freq_factor' is required")]
    [InlineData("""{"architectures":["LlamaForCausalLM"],"hidden_size":"big"}""", "'hidden_size' must be an integer")]
    [InlineData("""{"architectures":["LlamaForCausalLM"],"hidden_act":"gelu"}""", "'hidden_act' = 'gelu' is not supported")]
    [InlineData("""{"architectures":["LlamaForCausalLM"],"num_attention_heads":32,"num_key_value_heads":5}""", "must be a multiple of 'num_key_value_heads'")]
    [InlineData("""{"architectures":["PhiForCausalLM"],"qk_layernorm":true}""", "'qk_layernorm' = true is not supported")]
    [InlineData("""{"architectures":["GPT2LMHeadModel"],"activation_function":"swish"}""", "'activation_function' = 'swish'")]
    [InlineData("""{"architectures":["GPT2LMHeadModel"],"scale_attn_by_inverse_layer_idx":true}""", "'scale_attn_by_inverse_layer_idx' = true")]
    [InlineData("""{"architectures":["Qwen2ForCausalLM"],"num_hidden_layers":2,"use_sliding_window":true,"max_window_layers":1,"layer_types":["sliding_attention","full_attention"]}""", "'layer_types'")]
    [InlineData("""{"architectures":["MistralForCausalLM"],"sliding_window":0}""", "'sliding_window' must be positive")]
    [InlineData("""{"architectures":["Phi3ForCausalLM"],"rope_scaling":{"type":"longrope","short_factor":[1.0],"long_factor":[1.0]}}""", "'rope_scaling.short_factor' has 1 values, expected rotary_dim / 2 = 48")]
    [InlineData("""{"architectures":["Phi3ForCausalLM"],"rope_scaling":{"type":"su","short_factor":[1.0]}}""", "'rope_scaling.short_factor' has 1 values")]
    [InlineData("""{"architectures":["Phi3ForCausalLM"],"rope_scaling":{"rope_type":"yarn","factor":2.0}}""", "'rope_scaling.short_factor' is required for rope_type 'yarn'")]
    [InlineData("""{"architectures":["Phi3ForCausalLM"],"rope_scaling":{"rope_type":"dynamic","factor":2.0}}""", "'rope_scaling' type 'dynamic' is not supported for Phi3ForCausalLM (supported: null, longrope)")]
    [InlineData("""{"architectures":["Phi3ForCausalLM"],"hidden_act":"gelu"}""", "'hidden_act' = 'gelu' is not supported for Phi3ForCausalLM")]
    [InlineData("""{"architectures":["LlamaForCausalLM"],"num_hidden_layers":0}""", "'num_hidden_layers' must be positive")]
    public void UnsupportedOptionsNameTheKey(string json, string expected) => Assert.Contains(expected, Fails(json));

    [Theory]
    [InlineData("tiny")]
    [InlineData("bench-small")]
    [InlineData("bench-small-llama")]
    [InlineData("gpt2-124m")]
    [InlineData("smollm2-135m")]
    [InlineData("tiny-phi3")]
    public void PresetsRoundTripThroughConfigJson(string name)
    {
        var preset = ModelPresets.Get(name);
        var dir = TestPaths.TempDir();
        ConfigJson.Save(preset, dir);
        Assert.Equal(Canonical(preset), Canonical(ConfigJson.Load(dir)));
    }

    [Fact]
    public void PresetSizes()
    {
        Assert.InRange(ParameterCount(ModelPresets.Get("tiny")), 200_000, 900_000);
        // SmolLM2-135M: 134,515,008 parameters with tied embeddings.
        Assert.Equal(134_515_008, ParameterCount(ModelPresets.Get("smollm2-135m")));
        // GPT-2 small: 124,439,808.
        Assert.Equal(124_439_808, ParameterCount(ModelPresets.Get("gpt2-124m")));
        Assert.Equal(8192, ModelPresets.Get("bench-small").VocabSize);
        Assert.Empty(ModelPresets.Get("bench-small").EosTokenIds);
        Assert.Throws<ArgumentException>(() => ModelPresets.Get("huge"));
    }

    static long ParameterCount(ModelConfig c)
    {
        long h = c.HiddenSize, kv = (long)c.NumKvHeads * c.HeadDim, q = (long)c.NumHeads * c.HeadDim, i = c.IntermediateSize;
        long embed = (long)c.VocabSize * h, head = c.TieWordEmbeddings ? 0 : embed;
        if (c.Family == ModelFamily.Gpt2)
            return embed + (long)c.MaxPositionEmbeddings * h + c.NumLayers * (2 * 2 * h + h * 3 * h + 3 * h + h * h + h + h * i + i + i * h + h) + 2 * h + head;
        return embed + head + h + c.NumLayers * (2 * h + h * q + 2 * h * kv + q * h + 3 * h * i);
    }
}
