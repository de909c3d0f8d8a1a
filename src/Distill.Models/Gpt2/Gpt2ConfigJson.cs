using System.Text.Json.Nodes;
using Distill.Models.Formats;

namespace Distill.Models.Gpt2;

/// <summary>config.json of GPT2LMHeadModel with transformers' GPT2Config key names (n_embd, n_layer, ...) and defaults.</summary>
public static class Gpt2ConfigJson
{
    /// <summary>activation_function values whose math the forward implements (ACT2FN names).</summary>
    public static readonly string[] Activations = ["gelu_new", "gelu_pytorch_tanh", "gelu"];

    public static ModelConfig Read(ConfigJsonReader r, string architecture)
    {
        int embd = r.Int("n_embd", 768), heads = r.Int("n_head", 12);
        string act = r.String("activation_function", "gelu_new");
        if (!Activations.Contains(act))
            throw new ModelFormatException($"{r.File}: 'activation_function' = '{act}' is not supported (supported: {string.Join(", ", Activations)})");
        // Variants of the attention the forward does not implement.
        r.RequireDefault("scale_attn_weights", true);
        r.RequireDefault("scale_attn_by_inverse_layer_idx", false);
        r.RequireDefault("add_cross_attention", false);
        // n_ctx is the old name of n_positions that GPT2Config no longer reads; summary_* configure GPT2DoubleHeadsModel's
        // classifier; reorder_and_upcast_attn only upcasts half-precision scores (a no-op on Distill's float32 weights).
        r.Accept("n_ctx", "summary_type", "summary_use_proj", "summary_activation", "summary_proj_to_labels", "summary_first_dropout",
            "reorder_and_upcast_attn");
        var eos = r.IntOrList("eos_token_id");
        return new ModelConfig
        {
            Architecture = architecture,
            ModelType = "gpt2",
            Family = ModelFamily.Gpt2,
            VocabSize = r.Int("vocab_size", 50257),
            HiddenSize = embd,
            IntermediateSize = r.OptionalInt("n_inner") ?? 4 * embd,
            NumLayers = r.Int("n_layer", 12),
            NumHeads = heads,
            NumKvHeads = heads,
            HeadDim = embd / heads,
            MaxPositionEmbeddings = r.Int("n_positions", 1024),
            NormEps = r.Double("layer_norm_epsilon", 1e-5),
            HiddenAct = act,
            TieWordEmbeddings = r.Bool("tie_word_embeddings", true),
            InitializerRange = r.Double("initializer_range", 0.02),
            QkvBias = true,
            OProjBias = true,
            MlpBias = true,
            BosTokenId = r.Present("bos_token_id") ? r.OptionalInt("bos_token_id") : 50256,
            EosTokenIds = r.Present("eos_token_id") ? eos : [50256],
            PadTokenId = r.OptionalInt("pad_token_id"),
            ResidDropout = r.Double("resid_pdrop", 0.1),
            EmbdDropout = r.Double("embd_pdrop", 0.1),
            AttentionDropout = r.Double("attn_pdrop", 0.1),
            TorchDType = ConfigKeys.ReadDType(r),
        };
    }

    public static JsonObject Write(ModelConfig c)
    {
        var o = new JsonObject
        {
            ["architectures"] = new JsonArray(c.Architecture),
            ["model_type"] = "gpt2",
            ["vocab_size"] = c.VocabSize,
            ["n_positions"] = c.MaxPositionEmbeddings,
            ["n_embd"] = c.HiddenSize,
            ["n_layer"] = c.NumLayers,
            ["n_head"] = c.NumHeads,
            ["n_inner"] = c.IntermediateSize == 4 * c.HiddenSize ? null : c.IntermediateSize,
            ["activation_function"] = c.HiddenAct,
            ["resid_pdrop"] = c.ResidDropout,
            ["embd_pdrop"] = c.EmbdDropout,
            ["attn_pdrop"] = c.AttentionDropout,
            ["layer_norm_epsilon"] = c.NormEps,
            ["initializer_range"] = c.InitializerRange,
            ["scale_attn_weights"] = true,
            ["tie_word_embeddings"] = c.TieWordEmbeddings,
        };
        ConfigJson.WriteTokens(o, c);
        return o;
    }
}
