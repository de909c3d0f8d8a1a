using System.Text.RegularExpressions;

namespace Distill.Models.Formats.Gguf;

/// <summary>
/// Gemma3ForCausalLM (model_type gemma3_text) as llama.cpp's "gemma3" architecture (convert_hf_to_gguf.py
/// Gemma3Model; llama.cpp src/models/gemma3.cpp and its load_arch_hparams):
/// - tensors: token_embd, blk.N.{attn_norm (input_layernorm), attn_q, attn_k, attn_v, attn_output, attn_q_norm,
///   attn_k_norm, post_attention_norm (post_attention_layernorm), ffn_norm (pre_feedforward_layernorm), post_ffw_norm
///   (post_feedforward_layernorm), ffn_gate, ffn_up, ffn_down}, output_norm; no output tensor (tied, as every Gemma 3).
/// - Gemma's RMSNorm is x·(1 + w); llama.cpp's is x·w, so the converter adds 1 to every "*norm.weight" tensor
///   (Gemma3Model.modify_tensors) — done here too. No Q/K permutation (NEOX RoPE).
/// - llama.cpp scales the embeddings by √n_embd itself, uses GELU-tanh (LLM_FFN_GELU), and scales the queries by
///   1/√head_dim (1/√(n_embd/n_head) for the 62-layer 27B only): query_pre_attn_scalar is not read from the file.
/// - Interleaved attention: llama.cpp's gemma3 takes the window from `gemma3.attention.sliding_window` and the pattern
///   6 (layer i slides iff i mod 6 &lt; 5, LLAMA_SWA_TYPE_STANDARD: keys p − window &lt; j ≤ p, as transformers); sliding
///   layers use RoPE base 10000 without scaling (rope_freq_base_train_swa), the others `gemma3.rope.freq_base` and the
///   linear rope scaling. A config that differs (another pattern, local base, attention scale, final_logit_softcapping —
///   which the converter asserts is null and llama.cpp's sliding-window graph never applies) is refused with the reason,
///   since llama.cpp would silently compute something else.
/// </summary>
public sealed partial class Gemma3Gguf : IGgufArchitecture
{
    const string Arch = "gemma3";
    const int SwaPattern = 6;
    const double LocalRopeBase = 10000;

    public string Name => Arch;

    public IEnumerable<GgufEntry> Metadata(ModelConfig c)
    {
        Check(c);
        yield return GgufEntry.UInt32($"{Arch}.context_length", c.MaxPositionEmbeddings);
        yield return GgufEntry.UInt32($"{Arch}.embedding_length", c.HiddenSize);
        yield return GgufEntry.UInt32($"{Arch}.block_count", c.NumLayers);
        yield return GgufEntry.UInt32($"{Arch}.feed_forward_length", c.IntermediateSize);
        yield return GgufEntry.UInt32($"{Arch}.attention.head_count", c.NumHeads);
        yield return GgufEntry.UInt32($"{Arch}.attention.head_count_kv", c.NumKvHeads);
        yield return GgufEntry.Float32($"{Arch}.attention.layer_norm_rms_epsilon", c.NormEps);
        yield return GgufEntry.UInt32($"{Arch}.attention.key_length", c.HeadDim);
        yield return GgufEntry.UInt32($"{Arch}.attention.value_length", c.HeadDim);
        yield return GgufEntry.Float32($"{Arch}.rope.freq_base", c.RopeTheta);
        yield return GgufEntry.UInt32($"{Arch}.attention.sliding_window", c.SlidingWindow ?? c.MaxPositionEmbeddings);
        yield return GgufEntry.UInt32($"{Arch}.vocab_size", c.VocabSize);
        if (c.RopeScaling is { Type: "linear" } s)
        {
            yield return GgufEntry.String($"{Arch}.rope.scaling.type", "linear");
            yield return GgufEntry.Float32($"{Arch}.rope.scaling.factor", s.Factor);
        }
    }

    /// <summary>Refuses what llama.cpp's gemma3 would compute differently from Distill (and transformers).</summary>
    static void Check(ModelConfig c)
    {
        string Refuse(string what) => $"{c.Architecture}: {what}; llama.cpp's '{Arch}' would compute another model, so there is no faithful GGUF";
        if (c.FinalLogitSoftcapping is double cap)
            throw new ModelFormatException(Refuse($"final_logit_softcapping = {cap} (convert_hf_to_gguf.py asserts it is null; llama.cpp's sliding-window gemma3 graph does not apply it)"));
        if (c.RopeScaling is { Type: not "linear" } other) throw new ModelFormatException(Refuse($"rope_scaling '{other.Type}' (only linear is written)"));
        double expectedScale = c.NumLayers == 62 ? (double)c.HiddenSize / c.NumHeads : c.HeadDim;
        if (c.QueryPreAttnScalar is double q && q != expectedScale)
            throw new ModelFormatException(Refuse($"query_pre_attn_scalar = {q}, but llama.cpp scales queries by 1/√{expectedScale} ({(c.NumLayers == 62 ? "hidden/heads for the 62-layer 27B" : "head_dim")})"));
        var types = c.LayerTypes ?? throw new ModelFormatException(Refuse("no layer_types"));
        // a window as long as the context changes nothing, whichever layers slide
        if (c.SlidingWindow is int window && window < c.MaxPositionEmbeddings)
            for (int i = 0; i < c.NumLayers; i++)
            {
                bool llamaCppSlides = i % SwaPattern < SwaPattern - 1;
                if ((types[i] == "sliding_attention") != llamaCppSlides)
                    throw new ModelFormatException(Refuse($"layer {i} is {types[i]}, but llama.cpp's pattern ({SwaPattern}: every 6th layer global) makes it {(llamaCppSlides ? "sliding" : "full")}_attention"));
            }
        if (types.Contains("sliding_attention") && (c.RopeLocalTheta ?? LocalRopeBase) != LocalRopeBase)
            throw new ModelFormatException(Refuse($"rope_local_base_freq = {c.RopeLocalTheta} (llama.cpp's sliding layers use {LocalRopeBase})"));
    }

    public IEnumerable<GgufSource> Tensors(CausalLM model)
    {
        Check(model.Config);
        return GgufArchitectures.Rename(model, Rename).Select(t => t.Name.EndsWith("norm.weight", StringComparison.Ordinal)
            ? t with { Data = t.Data.Select(x => x + 1f).ToArray() } // Gemma3Model.modify_tensors: data + 1
            : t);
    }

    [GeneratedRegex(@"^model\.layers\.(\d+)\.(.+)\.weight$")]
    private static partial Regex LayerName();

    static string? Rename(string hf)
    {
        switch (hf)
        {
            case "model.embed_tokens.weight": return "token_embd.weight";
            case "model.norm.weight": return "output_norm.weight";
            case "lm_head.weight": return "output.weight"; // untied (no released Gemma 3 is); llama.cpp reads it when present
        }
        var m = LayerName().Match(hf);
        if (!m.Success) return null;
        string? gg = m.Groups[2].Value switch
        {
            "input_layernorm" => "attn_norm",
            "self_attn.q_proj" => "attn_q",
            "self_attn.k_proj" => "attn_k",
            "self_attn.v_proj" => "attn_v",
            "self_attn.o_proj" => "attn_output",
            "self_attn.q_norm" => "attn_q_norm",
            "self_attn.k_norm" => "attn_k_norm",
            "post_attention_layernorm" => "post_attention_norm",
            "pre_feedforward_layernorm" => "ffn_norm",
            "post_feedforward_layernorm" => "post_ffw_norm",
            "mlp.gate_proj" => "ffn_gate",
            "mlp.up_proj" => "ffn_up",
            "mlp.down_proj" => "ffn_down",
            _ => null,
        };
        return gg is null ? null : $"blk.{m.Groups[1].Value}.{gg}.weight";
    }
}
