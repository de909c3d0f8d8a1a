namespace Distill.Models.Gpt2;

/// <summary>Hugging Face tensor and module names of GPT2LMHeadModel (Conv1D modules store weights [in, out]).</summary>
public static class Gpt2Weights
{
    public const string Wte = "transformer.wte.weight";
    public const string Wpe = "transformer.wpe.weight";
    public const string LnF = "transformer.ln_f";
    public const string LmHead = "lm_head.weight";
    public static string Ln1(int l) => $"transformer.h.{l}.ln_1";
    public static string Ln2(int l) => $"transformer.h.{l}.ln_2";
    public static string CAttn(int l) => $"transformer.h.{l}.attn.c_attn";
    public static string AttnCProj(int l) => $"transformer.h.{l}.attn.c_proj";
    public static string CFc(int l) => $"transformer.h.{l}.mlp.c_fc";
    public static string MlpCProj(int l) => $"transformer.h.{l}.mlp.c_proj";
    /// <summary>Causal-mask buffers older GPT-2 checkpoints carry (attn.bias, attn.masked_bias): not weights.</summary>
    public static bool IsMaskBuffer(string name) => name.EndsWith(".attn.bias", StringComparison.Ordinal) || name.EndsWith(".attn.masked_bias", StringComparison.Ordinal);
}
