using Distill.Tensors;

namespace Distill.Models;

/// <summary>
/// From-scratch initialization as transformers' `_init_weights` does it (modeling_llama.py, modeling_gpt2.py,
/// modeling_phi.py): Linear / Conv1D weights and embeddings ~ N(0, initializer_range), biases 0, norm weights 1
/// and LayerNorm biases 0; the embedding row of pad_token_id zeroed (nn.Embedding padding_idx, Llama and Phi);
/// GPT-2 additionally draws every `c_proj.weight` from N(0, initializer_range / √(2 · n_layer)) (the GPT-2
/// paper's residual scaling, applied inside GPT2PreTrainedModel._init_weights). Parameters are drawn in
/// registration order from one seeded generator, so a seed fixes the model.
/// </summary>
public static class ModelInit
{
    public static void Initialize(CausalLM model, ulong seed)
    {
        var c = model.Config;
        var rng = new Rng(seed);
        float std = (float)c.InitializerRange;
        float cProjStd = (float)(c.InitializerRange / Math.Sqrt(2.0 * c.NumLayers));
        var biasNames = model.Linears.Where(l => l.Bias is not null).Select(l => l.Bias!.Name).ToHashSet(StringComparer.Ordinal);
        var weightNames = model.Linears.Select(l => l.Path + ".weight").ToHashSet(StringComparer.Ordinal);
        foreach (var w in model.Weights)
        {
            var span = w.Parameter.Span;
            var shape = w.Parameter.Value.Shape;
            if (biasNames.Contains(w.Name)) span.Clear();
            else if (weightNames.Contains(w.Name))
                rng.FillNormal(span, 0f, c.Family == ModelFamily.Gpt2 && w.Name.EndsWith("c_proj.weight", StringComparison.Ordinal) ? cProjStd : std);
            else if (shape.Length == 2)
            {
                // embeddings (and untied lm_head registered as a plain weight)
                rng.FillNormal(span, 0f, std);
                bool isTokenEmbedding = w.Name is "model.embed_tokens.weight";
                if (isTokenEmbedding && c.PadTokenId is int pad && pad < shape[0]) span.Slice(pad * shape[1], shape[1]).Clear();
            }
            else if (w.Name.EndsWith(".bias", StringComparison.Ordinal)) span.Clear();   // LayerNorm bias
            // RMSNorm / LayerNorm weight: 1, or 0 for Gemma 3's x·(1 + w) norms (Gemma3PreTrainedModel._init_weights zeroes them)
            else span.Fill(c.Family == ModelFamily.Gemma3 ? 0f : 1f);
        }
    }
}
