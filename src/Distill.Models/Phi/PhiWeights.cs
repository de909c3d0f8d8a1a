namespace Distill.Models.Phi;

/// <summary>Hugging Face tensor and module names of PhiForCausalLM (Phi-2).</summary>
public static class PhiWeights
{
    public const string EmbedTokens = "model.embed_tokens.weight";
    public const string FinalLayerNorm = "model.final_layernorm";
    public const string LmHead = "lm_head";
    public static string InputLayerNorm(int l) => $"model.layers.{l}.input_layernorm";
    public static string QProj(int l) => $"model.layers.{l}.self_attn.q_proj";
    public static string KProj(int l) => $"model.layers.{l}.self_attn.k_proj";
    public static string VProj(int l) => $"model.layers.{l}.self_attn.v_proj";
    public static string Dense(int l) => $"model.layers.{l}.self_attn.dense";
    public static string Fc1(int l) => $"model.layers.{l}.mlp.fc1";
    public static string Fc2(int l) => $"model.layers.{l}.mlp.fc2";
}
