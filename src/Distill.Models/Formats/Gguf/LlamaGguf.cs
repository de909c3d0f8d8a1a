using System.Text.RegularExpressions;

namespace Distill.Models.Formats.Gguf;

/// <summary>
/// LlamaForCausalLM / MistralForCausalLM as llama.cpp's "llama" architecture and Qwen2ForCausalLM as "qwen2"
/// (convert_hf_to_gguf.py LlamaModel, Qwen2Model), Qwen3ForCausalLM as "qwen3" (Qwen3Model: Qwen2's layout plus the per-head
/// RMSNorms blk.N.attn_q_norm / attn_k_norm, plain weights — no Gemma-style 1 + w). Tensor names: token_embd, blk.N.{attn_norm, attn_q, attn_k, attn_v,
/// attn_output, ffn_norm, ffn_gate, ffn_up, ffn_down}, output_norm, output (absent when tied: llama.cpp then uses
/// token_embd). For "llama", q_proj and k_proj rows are permuted (LlamaModel.permute): Hugging Face's checkpoint
/// rotates the two halves of each head (rotate_half), llama.cpp's "llama" RoPE (LLAMA_ROPE_TYPE_NORM) rotates adjacent
/// pairs; within each head, row (i, half h) moves to row 2i + h. "qwen2" uses the NEOX RoPE (halves), so no permutation.
/// llama3 rope scaling becomes the rope_freqs tensor of per-frequency divisors (LlamaModel.generate_extra_tensors).
/// </summary>
public sealed partial class LlamaGguf(string arch, bool permuteQk) : IGgufArchitecture
{
    public string Name => arch;

    public IEnumerable<GgufEntry> Metadata(ModelConfig c)
    {
        yield return GgufEntry.UInt32($"{arch}.context_length", c.MaxPositionEmbeddings);
        yield return GgufEntry.UInt32($"{arch}.embedding_length", c.HiddenSize);
        yield return GgufEntry.UInt32($"{arch}.block_count", c.NumLayers);
        yield return GgufEntry.UInt32($"{arch}.feed_forward_length", c.IntermediateSize);
        yield return GgufEntry.UInt32($"{arch}.attention.head_count", c.NumHeads);
        yield return GgufEntry.UInt32($"{arch}.attention.head_count_kv", c.NumKvHeads);
        yield return GgufEntry.Float32($"{arch}.rope.freq_base", c.RopeTheta);
        yield return GgufEntry.Float32($"{arch}.attention.layer_norm_rms_epsilon", c.NormEps);
        yield return GgufEntry.UInt32($"{arch}.vocab_size", c.VocabSize);
        yield return GgufEntry.UInt32($"{arch}.rope.dimension_count", c.RotaryDim);
        if (c.HeadDim * c.NumHeads != c.HiddenSize)
        {
            yield return GgufEntry.UInt32($"{arch}.attention.key_length", c.HeadDim);
            yield return GgufEntry.UInt32($"{arch}.attention.value_length", c.HeadDim);
        }
        if (c.RopeScaling is { Type: "linear" } s)
        {
            yield return GgufEntry.String($"{arch}.rope.scaling.type", "linear");
            yield return GgufEntry.Float32($"{arch}.rope.scaling.factor", s.Factor);
        }
        else if (c.RopeScaling is { Type: not "llama3" } other)
            throw new ModelFormatException($"{c.Architecture}: rope_scaling '{other.Type}' has no GGUF mapping in Distill");
    }

    public IEnumerable<string> Caveats(ModelConfig c)
    {
        if (c.SlidingWindow is int w && w < c.MaxPositionEmbeddings)
            yield return $"sliding_window {w}: llama.cpp's '{arch}' architecture attends to the whole context, so outputs differ from Distill's past {w} tokens";
    }

    public IEnumerable<GgufSource> Tensors(CausalLM model)
    {
        var c = model.Config;
        var list = GgufArchitectures.Rename(model, Rename);
        if (permuteQk)
            for (int i = 0; i < list.Count; i++)
            {
                var t = list[i];
                int heads = t.Name.Contains(".attn_q.") ? c.NumHeads : t.Name.Contains(".attn_k.") ? c.NumKvHeads : 0;
                if (heads > 0) list[i] = t with { Data = PermuteRows(t.Data, heads, (int)(t.Shape.Length == 2 ? t.Shape[1] : 1)) };
            }
        if (c.RopeScaling is { Type: "llama3" } s) list.Add(new GgufSource("rope_freqs.weight", [c.RotaryDim / 2], Llama3Factors(c, s)));
        return list;
    }

    [GeneratedRegex(@"^model\.layers\.(\d+)\.(.+)$")]
    private static partial Regex LayerName();

    static string? Rename(string hf)
    {
        switch (hf)
        {
            case "model.embed_tokens.weight": return "token_embd.weight";
            case "model.norm.weight": return "output_norm.weight";
            case "lm_head.weight": return "output.weight";
        }
        var m = LayerName().Match(hf);
        if (!m.Success) return null;
        string rest = m.Groups[2].Value;
        int dot = rest.LastIndexOf('.');
        string module = rest[..dot], kind = rest[(dot + 1)..];
        string? gg = module switch
        {
            "input_layernorm" => "attn_norm",
            "self_attn.q_proj" => "attn_q",
            "self_attn.k_proj" => "attn_k",
            "self_attn.v_proj" => "attn_v",
            "self_attn.o_proj" => "attn_output",
            "self_attn.q_norm" => "attn_q_norm", // Qwen3 (gguf-py MODEL_TENSOR.ATTN_Q_NORM)
            "self_attn.k_norm" => "attn_k_norm",
            "post_attention_layernorm" => "ffn_norm",
            "mlp.gate_proj" => "ffn_gate",
            "mlp.up_proj" => "ffn_up",
            "mlp.down_proj" => "ffn_down",
            _ => null,
        };
        return gg is null ? null : $"blk.{m.Groups[1].Value}.{gg}.{kind}";
    }

    /// <summary>
    /// LlamaModel.permute: w (heads·hd, cols) viewed as (heads, 2, hd/2, cols), axes 1 and 2 swapped: output row
    /// head·hd + 2i + h is input row head·hd + h·hd/2 + i. Applied to q (heads) and k (kv heads), weights and biases.
    /// </summary>
    public static float[] PermuteRows(float[] w, int heads, int cols)
    {
        int rows = w.Length / cols, hd = rows / heads, half = hd / 2;
        var dst = new float[w.Length];
        for (int head = 0; head < heads; head++)
            for (int h = 0; h < 2; h++)
                for (int i = 0; i < half; i++)
                    Array.Copy(w, (long)(head * hd + h * half + i) * cols, dst, (long)(head * hd + 2 * i + h) * cols, cols);
        return dst;
    }

    /// <summary>llama3 rope scaling as llama.cpp's rope_freqs: per frequency 1 (high), factor (low) or the smooth blend's divisor.</summary>
    static float[] Llama3Factors(ModelConfig c, RopeScaling s)
    {
        int half = c.RotaryDim / 2;
        var f = new float[half];
        double lowWavelen = s.OriginalMaxPositionEmbeddings / s.LowFreqFactor, highWavelen = s.OriginalMaxPositionEmbeddings / s.HighFreqFactor;
        for (int i = 0; i < half; i++)
        {
            double freq = 1.0 / Math.Pow(c.RopeTheta, 2.0 * i / c.RotaryDim);
            double wavelen = 2 * Math.PI / freq;
            if (wavelen < highWavelen) f[i] = 1;
            else if (wavelen > lowWavelen) f[i] = (float)s.Factor;
            else
            {
                double smooth = (s.OriginalMaxPositionEmbeddings / wavelen - s.LowFreqFactor) / (s.HighFreqFactor - s.LowFreqFactor);
                f[i] = (float)(1 / ((1 - smooth) / s.Factor + smooth));
            }
        }
        return f;
    }
}
