namespace Distill.Models.Phi3;

/// <summary>Hugging Face tensor and module names of Phi3ForCausalLM (modeling_phi3.py): fused qkv_proj and gate_up_proj.</summary>
public static class Phi3Weights
{
    public const string EmbedTokens = "model.embed_tokens.weight";
    public const string Norm = "model.norm.weight";
    public const string LmHead = "lm_head.weight";
    public static string InputLayerNorm(int l) => $"model.layers.{l}.input_layernorm.weight";
    public static string PostAttentionLayerNorm(int l) => $"model.layers.{l}.post_attention_layernorm.weight";
    public static string QkvProj(int l) => $"model.layers.{l}.self_attn.qkv_proj";
    public static string OProj(int l) => $"model.layers.{l}.self_attn.o_proj";
    public static string GateUpProj(int l) => $"model.layers.{l}.mlp.gate_up_proj";
    public static string DownProj(int l) => $"model.layers.{l}.mlp.down_proj";
}
