using System.Text.Json.Nodes;
using Distill.Models.Formats;

namespace Distill.Models.Tests.Config;

/// <summary>
/// transformers 4 and 5 config.json read alike (rope_parameters / rope_theta + rope_scaling, dtype / torch_dtype), and every
/// key that may change the numerics but is not implemented refused by name.
/// </summary>
public class ConfigGenerationTests
{
    static ModelConfig Parse(string json) => ConfigJson.Read(new ConfigJsonReader((JsonObject)JsonNode.Parse(json)!, "config.json"));

    static string Fails(string json) => Assert.Throws<ModelFormatException>(() => Parse(json)).Message;

    static string Canonical(ModelConfig c) => ConfigJson.ToJson(c).ToJsonString();

    [Theory]
    // Llama 3.x: llama3 scaling
    [InlineData("""{"architectures":["LlamaForCausalLM"],"rope_theta":500000.0,"torch_dtype":"bfloat16","rope_scaling":{"rope_type":"llama3","factor":32.0,"low_freq_factor":1.0,"high_freq_factor":4.0,"original_max_position_embeddings":8192}}""",
                """{"architectures":["LlamaForCausalLM"],"dtype":"bfloat16","rope_parameters":{"rope_type":"llama3","rope_theta":500000.0,"factor":32.0,"low_freq_factor":1.0,"high_freq_factor":4.0,"original_max_position_embeddings":8192}}""")]
    // Qwen2.5: theta 1e6, sliding window off; v5 adds layer_types
    [InlineData("""{"architectures":["Qwen2ForCausalLM"],"num_hidden_layers":2,"rope_theta":1000000.0,"use_sliding_window":false,"sliding_window":32768,"max_window_layers":21}""",
                """{"architectures":["Qwen2ForCausalLM"],"num_hidden_layers":2,"rope_parameters":{"rope_theta":1000000.0,"rope_type":"default"},"use_sliding_window":false,"sliding_window":null,"max_window_layers":21,"layer_types":["full_attention","full_attention"],"dtype":"float32"}""")]
    // Mistral, linear scaling (the old "type" key)
    [InlineData("""{"architectures":["MistralForCausalLM"],"rope_theta":20000.0,"rope_scaling":{"type":"linear","factor":2.0}}""",
                """{"architectures":["MistralForCausalLM"],"rope_parameters":{"rope_type":"linear","factor":2.0,"rope_theta":20000.0}}""")]
    // Phi-2: partial_rotary_factor moves into rope_parameters
    [InlineData("""{"architectures":["PhiForCausalLM"],"partial_rotary_factor":0.4,"rope_theta":10000.0,"hidden_size":2560,"num_attention_heads":32}""",
                """{"architectures":["PhiForCausalLM"],"rope_parameters":{"rope_type":"default","rope_theta":10000.0,"partial_rotary_factor":0.4},"hidden_size":2560,"num_attention_heads":32}""")]
    // Phi-3 longrope; transformers 5 copies the top-level original_max_position_embeddings into the dict
    [InlineData("""{"architectures":["Phi3ForCausalLM"],"hidden_size":16,"num_attention_heads":2,"max_position_embeddings":131072,"original_max_position_embeddings":4096,"rope_scaling":{"type":"longrope","short_factor":[1,1,1,1],"long_factor":[1,2,4,8.5]}}""",
                """{"architectures":["Phi3ForCausalLM"],"hidden_size":16,"num_attention_heads":2,"max_position_embeddings":131072,"original_max_position_embeddings":4096,"rope_parameters":{"rope_type":"longrope","rope_theta":10000.0,"partial_rotary_factor":1.0,"original_max_position_embeddings":4096,"short_factor":[1,1,1,1],"long_factor":[1,2,4,8.5]}}""")]
    // GPT-2 has no RoPE: only dtype changes
    [InlineData("""{"architectures":["GPT2LMHeadModel"],"torch_dtype":"float16"}""", """{"architectures":["GPT2LMHeadModel"],"dtype":"float16"}""")]
    public void V4AndV5ConfigsReadAlike(string v4, string v5)
    {
        ModelConfig a = Parse(v4), b = Parse(v5);
        Assert.Equal((4, 5), (a.ConfigGeneration, b.ConfigGeneration));
        Assert.Equal(Canonical(a), Canonical(b));
        Assert.Equal((a.RopeTheta, a.PartialRotaryFactor, a.TorchDType), (b.RopeTheta, b.PartialRotaryFactor, b.TorchDType));
        Assert.Equal(a.RopeScaling?.Type, b.RopeScaling?.Type);
        Assert.Equal(a.RopeScaling?.LongFactor, b.RopeScaling?.LongFactor);
    }

    [Fact]
    public void TopLevelAndRopeParametersMayBothBeGivenWhenTheyAgree()
    {
        var c = Parse("""{"architectures":["LlamaForCausalLM"],"rope_theta":20000.0,"rope_parameters":{"rope_type":"default","rope_theta":20000.0}}""");
        Assert.Equal(20000, c.RopeTheta);
        var theta = Parse("""{"architectures":["LlamaForCausalLM"],"rope_theta":20000.0,"rope_parameters":{"rope_type":"default"}}""");
        Assert.Equal(20000, theta.RopeTheta);   // convert_rope_params_to_dict: setdefault from the top level
        var same = Parse("""{"architectures":["LlamaForCausalLM"],"rope_scaling":{"type":"linear","factor":2.0},"rope_parameters":{"rope_type":"linear","factor":2.0,"rope_theta":10000.0}}""");
        Assert.Equal(new RopeScaling("linear", 2.0), same.RopeScaling);
    }

    [Fact]
    public void PerLayerTypeRopeParameters()
    {
        var equal = Parse("""
        {"architectures":["Qwen2ForCausalLM"],"num_hidden_layers":2,"use_sliding_window":true,"sliding_window":4,"max_window_layers":1,
         "layer_types":["full_attention","sliding_attention"],
         "rope_parameters":{"full_attention":{"rope_type":"default","rope_theta":20000.0},"sliding_attention":{"rope_type":"default","rope_theta":20000.0}}}
        """);
        Assert.Equal(20000, equal.RopeTheta);
        Assert.Contains("per-layer-type RoPE is not implemented", Fails("""
        {"architectures":["Qwen2ForCausalLM"],"num_hidden_layers":2,"use_sliding_window":true,"sliding_window":4,"max_window_layers":1,
         "layer_types":["full_attention","sliding_attention"],
         "rope_parameters":{"full_attention":{"rope_type":"default","rope_theta":1000000.0},"sliding_attention":{"rope_type":"default","rope_theta":10000.0}}}
        """));
        Assert.Contains("no entry for layer type 'sliding_attention'", Fails("""
        {"architectures":["Qwen2ForCausalLM"],"num_hidden_layers":2,"use_sliding_window":true,"sliding_window":4,"max_window_layers":1,
         "layer_types":["full_attention","sliding_attention"],"rope_parameters":{"full_attention":{"rope_type":"default","rope_theta":10000.0}}}
        """));
    }

    [Fact]
    public void KeysThatLeaveTheNumericsAloneAreAccepted()
    {
        // openai-community/gpt2's config.json as published
        var gpt2 = Parse("""
        {"activation_function":"gelu_new","architectures":["GPT2LMHeadModel"],"attn_pdrop":0.1,"bos_token_id":50256,"embd_pdrop":0.1,
         "eos_token_id":50256,"initializer_range":0.02,"layer_norm_epsilon":1e-05,"model_type":"gpt2","n_ctx":1024,"n_embd":768,"n_head":12,
         "n_layer":12,"n_positions":1024,"resid_pdrop":0.1,"summary_activation":null,"summary_first_dropout":0.1,"summary_proj_to_labels":true,
         "summary_type":"cls_index","summary_use_proj":true,"task_specific_params":{"text-generation":{"do_sample":true,"max_length":50}},"vocab_size":50257}
        """);
        Assert.Equal(768, gpt2.HiddenSize);
        var llama = Parse("""
        {"architectures":["LlamaForCausalLM"],"transformers_version":"4.48.0","use_cache":true,"pretraining_tp":1,"_name_or_path":"x",
         "output_attentions":false,"max_length":20,"rope_interleaved":false,"is_llama_config":true,"quantization_config":null,"pruned_heads":{},
         "sliding_window":null,"use_sliding_window":false,"original_max_position_embeddings":8192}
        """);
        Assert.Equal("LlamaForCausalLM", llama.Architecture);
        Assert.Null(Parse("""{"architectures":["Phi3ForCausalLM"],"attention_bias":false,"auto_map":{"AutoConfig":"configuration_phi3.Phi3Config"}}""").RopeScaling);
    }

    // Each key changes the forward in transformers (or in the tool that wrote it) and Distill does not compute it: refused by name.
    [Theory]
    [InlineData("""{"architectures":["LlamaForCausalLM"],"some_new_switch":true}""", "'some_new_switch' is not read by Distill's LlamaForCausalLM")]
    [InlineData("""{"architectures":["GPT2LMHeadModel"],"rope_theta":10000.0}""", "'rope_theta' is not read by Distill's GPT2LMHeadModel")]
    [InlineData("""{"architectures":["LlamaForCausalLM"],"quantization_config":{"quant_method":"gptq","bits":4}}""", "'quantization_config' = {")]
    [InlineData("""{"architectures":["LlamaForCausalLM"],"rope_interleaved":true}""", "'rope_interleaved' = true is not implemented")]
    [InlineData("""{"architectures":["LlamaForCausalLM"],"pruned_heads":{"0":[1]}}""", "'pruned_heads'")]
    [InlineData("""{"architectures":["LlamaForCausalLM"],"partial_rotary_factor":0.5}""", "'partial_rotary_factor' = 0.5 is not implemented for LlamaForCausalLM")]
    [InlineData("""{"architectures":["LlamaForCausalLM"],"rope_parameters":{"rope_type":"default","partial_rotary_factor":0.5}}""", "'partial_rotary_factor' = 0.5")]
    [InlineData("""{"architectures":["LlamaForCausalLM"],"rope_parameters":{"rope_type":"yarn","factor":4.0,"original_max_position_embeddings":4096}}""", "'rope_parameters' type 'yarn' is not supported")]
    [InlineData("""{"architectures":["LlamaForCausalLM"],"rope_parameters":{"rope_type":"dynamic","factor":4.0}}""", "'rope_parameters' type 'dynamic'")]
    [InlineData("""{"architectures":["LlamaForCausalLM"],"rope_parameters":{"rope_type":"linear","factor":4.0,"mscale":1.2}}""", "'rope_parameters.mscale' is not implemented for rope_type 'linear'")]
    [InlineData("""{"architectures":["LlamaForCausalLM"],"rope_theta":10000.0,"rope_parameters":{"rope_type":"default","rope_theta":20000.0}}""", "'rope_theta' (10000) and 'rope_parameters.rope_theta' (20000) disagree")]
    [InlineData("""{"architectures":["LlamaForCausalLM"],"rope_scaling":{"rope_type":"linear","factor":2.0},"rope_parameters":{"rope_type":"linear","factor":4.0}}""", "'rope_scaling' {")]
    [InlineData("""{"architectures":["LlamaForCausalLM"],"original_max_position_embeddings":4096,"rope_parameters":{"rope_type":"llama3","factor":8.0,"low_freq_factor":1.0,"high_freq_factor":4.0,"original_max_position_embeddings":8192}}""", "'original_max_position_embeddings' (4096) and 'rope_parameters.original_max_position_embeddings' (8192) disagree")]
    [InlineData("""{"architectures":["LlamaForCausalLM"],"rope_parameters":[1,2]}""", "'rope_parameters' must be an object")]
    [InlineData("""{"architectures":["MistralForCausalLM"],"attention_bias":true}""", "'attention_bias' = true is not implemented for MistralForCausalLM")]
    [InlineData("""{"architectures":["Qwen2ForCausalLM"],"attention_bias":false}""", "'attention_bias' = false is not implemented for Qwen2ForCausalLM")]
    [InlineData("""{"architectures":["Qwen2ForCausalLM"],"mlp_bias":true}""", "'mlp_bias' = true is not implemented for Qwen2ForCausalLM")]
    [InlineData("""{"architectures":["MistralForCausalLM"],"sliding_window":4096,"use_sliding_window":false}""", "'use_sliding_window' = false is not read by MistralForCausalLM")]
    [InlineData("""{"architectures":["LlamaForCausalLM"],"sliding_window":4096}""", "'sliding_window' = 4096 is not implemented for LlamaForCausalLM")]
    [InlineData("""{"architectures":["LlamaForCausalLM"],"num_hidden_layers":2,"layer_types":["full_attention","sliding_attention"]}""", "'layer_types'")]
    [InlineData("""{"architectures":["PhiForCausalLM"],"hidden_size":64,"num_attention_heads":4,"head_dim":32}""", "'head_dim' = 32 is not implemented for PhiForCausalLM")]
    [InlineData("""{"architectures":["Phi3ForCausalLM"],"hidden_size":16,"num_attention_heads":2,"original_max_position_embeddings":4096,"rope_parameters":{"rope_type":"longrope","original_max_position_embeddings":2048,"short_factor":[1,1,1,1],"long_factor":[1,1,1,1]}}""", "'rope_parameters.original_max_position_embeddings' (2048) differs")]
    [InlineData("""{"architectures":["GPT2LMHeadModel"],"add_cross_attention":true}""", "'add_cross_attention' = true")]
    [InlineData("""{"architectures":["Phi3ForCausalLM"],"attention_bias":true}""", "'attention_bias' = true is not implemented for Phi3ForCausalLM")]
    [InlineData("""{"architectures":["PhiForCausalLM"],"tie_word_embeddings":true}""", "'tie_word_embeddings' = true is not implemented for PhiForCausalLM")]
    [InlineData("""{"architectures":["LlamaForCausalLM"],"is_encoder_decoder":true}""", "'is_encoder_decoder' = true is not implemented")]
    public void UnimplementedNumericsKeysAreRefusedByName(string json, string expected) => Assert.Contains(expected, Fails(json));
}
