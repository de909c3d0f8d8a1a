using System.Text.Json.Nodes;
using Distill.Models.Formats;

namespace Distill.Models.Phi;

/// <summary>config.json of PhiForCausalLM (Phi-2) with transformers' PhiConfig key names and defaults.</summary>
public static class PhiConfigJson
{
    public static ModelConfig Read(ConfigJsonReader r, string architecture)
    {
        int hidden = r.Int("hidden_size", 2048), heads = r.Int("num_attention_heads", 32);
        string act = r.String("hidden_act", "gelu_new");
        if (act is not ("gelu_new" or "gelu_pytorch_tanh"))
            throw new ModelFormatException($"{r.File}: 'hidden_act' = '{act}' is not supported for {architecture} (supported: gelu_new)");
        // qk_layernorm adds per-head LayerNorms on q and k that Phi-2 does not use.
        r.RequireDefault("qk_layernorm", false);
        // PhiAttention: head_dim = getattr(config, "head_dim", hidden_size // num_attention_heads); Distill's Phi has hidden = heads · head_dim.
        if (r.OptionalInt("head_dim") is int hd && hd != hidden / heads)
            throw new ModelFormatException($"{r.File}: 'head_dim' = {hd} is not implemented for {architecture} (hidden_size / num_attention_heads = {hidden / heads})");
        // PhiForCausalLM's lm_head has a bias and Phi-2 is untied; a tied Phi is not implemented.
        if (r.Bool("tie_word_embeddings", false))
            throw new ModelFormatException($"{r.File}: 'tie_word_embeddings' = true is not implemented for {architecture} (Phi-2 is untied)");
        // PhiConfig: partial_rotary_factor 0.5 unless given (transformers 5 keeps it in rope_parameters).
        var rope = RopeConfigJson.Read(r);
        return new ModelConfig
        {
            Architecture = architecture,
            ModelType = "phi",
            Family = ModelFamily.Phi,
            VocabSize = r.Int("vocab_size", 51200),
            HiddenSize = hidden,
            IntermediateSize = r.Int("intermediate_size", 8192),
            NumLayers = r.Int("num_hidden_layers", 24),
            NumHeads = heads,
            NumKvHeads = r.OptionalInt("num_key_value_heads") ?? heads,
            HeadDim = hidden / heads,
            MaxPositionEmbeddings = r.Int("max_position_embeddings", 2048),
            NormEps = r.Double("layer_norm_eps", 1e-5),
            HiddenAct = act,
            TieWordEmbeddings = false,
            InitializerRange = r.Double("initializer_range", 0.02),
            RopeTheta = rope.Theta,
            RopeScaling = RopeConfigJson.ReadScaling(rope, r.File, r.OptionalInt("original_max_position_embeddings")),
            PartialRotaryFactor = rope.PartialRotaryFactor ?? 0.5,
            QkvBias = true,
            OProjBias = true,
            MlpBias = true,
            BosTokenId = r.Present("bos_token_id") ? r.OptionalInt("bos_token_id") : 1,
            EosTokenIds = r.Present("eos_token_id") ? r.IntOrList("eos_token_id") : [2],
            PadTokenId = r.OptionalInt("pad_token_id"),
            ResidDropout = r.Double("resid_pdrop", 0.0),
            EmbdDropout = r.Double("embd_pdrop", 0.0),
            AttentionDropout = r.Double("attention_dropout", 0.0),
            TorchDType = ConfigKeys.ReadDType(r),
        };
    }

    public static JsonObject Write(ModelConfig c)
    {
        var o = new JsonObject
        {
            ["architectures"] = new JsonArray(c.Architecture),
            ["model_type"] = "phi",
            ["vocab_size"] = c.VocabSize,
            ["hidden_size"] = c.HiddenSize,
            ["intermediate_size"] = c.IntermediateSize,
            ["num_hidden_layers"] = c.NumLayers,
            ["num_attention_heads"] = c.NumHeads,
            ["num_key_value_heads"] = c.NumKvHeads,
            ["resid_pdrop"] = c.ResidDropout,
            ["embd_pdrop"] = c.EmbdDropout,
            ["attention_dropout"] = c.AttentionDropout,
            ["hidden_act"] = c.HiddenAct,
            ["max_position_embeddings"] = c.MaxPositionEmbeddings,
            ["initializer_range"] = c.InitializerRange,
            ["layer_norm_eps"] = c.NormEps,
            ["tie_word_embeddings"] = c.TieWordEmbeddings,
            ["rope_theta"] = c.RopeTheta,
            ["rope_scaling"] = ConfigJson.WriteRopeScaling(c.RopeScaling),
            ["partial_rotary_factor"] = c.PartialRotaryFactor,
            ["qk_layernorm"] = false,
        };
        ConfigJson.WriteTokens(o, c);
        return o;
    }
}
