using System.Text.RegularExpressions;

namespace Distill.Models.Formats.Gguf;

/// <summary>
/// GPT2LMHeadModel as llama.cpp's "gpt2" architecture (convert_hf_to_gguf.py GPT2Model): token_embd, position_embd,
/// blk.N.{attn_norm, attn_qkv, attn_output, ffn_norm, ffn_up, ffn_down} with weights and biases, output_norm, and
/// output = a copy of token_embd (GPT2Model writes the tied head out). Conv1D weights are [out, in] here already
/// (Distill transposes them at load), which is the layout convert_hf_to_gguf.py produces by transposing them.
/// </summary>
public sealed partial class Gpt2Gguf : IGgufArchitecture
{
    public string Name => "gpt2";

    public IEnumerable<GgufEntry> Metadata(ModelConfig c) =>
    [
        GgufEntry.UInt32("gpt2.context_length", c.MaxPositionEmbeddings),
        GgufEntry.UInt32("gpt2.embedding_length", c.HiddenSize),
        GgufEntry.UInt32("gpt2.feed_forward_length", c.IntermediateSize),
        GgufEntry.UInt32("gpt2.block_count", c.NumLayers),
        GgufEntry.UInt32("gpt2.attention.head_count", c.NumHeads),
        GgufEntry.Float32("gpt2.attention.layer_norm_epsilon", c.NormEps),
    ];

    public IEnumerable<string> Caveats(ModelConfig c)
    {
        if (c.HiddenAct == "gelu") yield return "activation 'gelu' (erf): llama.cpp's gpt2 uses the tanh approximation";
    }

    public IEnumerable<GgufSource> Tensors(CausalLM model)
    {
        var list = GgufArchitectures.Rename(model, Rename);
        if (!list.Any(t => t.Name == "output.weight"))
        {
            var embd = list.First(t => t.Name == "token_embd.weight");
            list.Add(embd with { Name = "output.weight" });
        }
        return list;
    }

    [GeneratedRegex(@"^transformer\.h\.(\d+)\.(.+)\.(weight|bias)$")]
    private static partial Regex LayerName();

    static string? Rename(string hf)
    {
        switch (hf)
        {
            case "transformer.wte.weight": return "token_embd.weight";
            case "transformer.wpe.weight": return "position_embd.weight";
            case "transformer.ln_f.weight": return "output_norm.weight";
            case "transformer.ln_f.bias": return "output_norm.bias";
            case "lm_head.weight": return "output.weight";
        }
        var m = LayerName().Match(hf);
        if (!m.Success) return null;
        string? gg = m.Groups[2].Value switch
        {
            "ln_1" => "attn_norm",
            "attn.c_attn" => "attn_qkv",
            "attn.c_proj" => "attn_output",
            "ln_2" => "ffn_norm",
            "mlp.c_fc" => "ffn_up",
            "mlp.c_proj" => "ffn_down",
            _ => null,
        };
        return gg is null ? null : $"blk.{m.Groups[1].Value}.{gg}.{m.Groups[3].Value}";
    }
}
