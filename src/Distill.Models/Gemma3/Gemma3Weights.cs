namespace Distill.Models.Gemma3;

/// <summary>Hugging Face tensor and module names of Gemma3ForCausalLM (modeling_gemma3.py): four norms per layer, q/k norms.</summary>
public static class Gemma3Weights
{
    public const string EmbedTokens = "model.embed_tokens.weight";
    public const string Norm = "model.norm.weight";
    public const string LmHead = "lm_head.weight";
    public static string InputLayerNorm(int l) => $"model.layers.{l}.input_layernorm.weight";
    public static string PostAttentionLayerNorm(int l) => $"model.layers.{l}.post_attention_layernorm.weight";
    public static string PreFeedforwardLayerNorm(int l) => $"model.layers.{l}.pre_feedforward_layernorm.weight";
    public static string PostFeedforwardLayerNorm(int l) => $"model.layers.{l}.post_feedforward_layernorm.weight";
    public static string QProj(int l) => $"model.layers.{l}.self_attn.q_proj";
    public static string KProj(int l) => $"model.layers.{l}.self_attn.k_proj";
    public static string VProj(int l) => $"model.layers.{l}.self_attn.v_proj";
    public static string OProj(int l) => $"model.layers.{l}.self_attn.o_proj";
    public static string QNorm(int l) => $"model.layers.{l}.self_attn.q_norm.weight";
    public static string KNorm(int l) => $"model.layers.{l}.self_attn.k_norm.weight";
    public static string GateProj(int l) => $"model.layers.{l}.mlp.gate_proj";
    public static string UpProj(int l) => $"model.layers.{l}.mlp.up_proj";
    public static string DownProj(int l) => $"model.layers.{l}.mlp.down_proj";
}
