using System.Text.Json.Nodes;

namespace Distill.Models.Formats;

/// <summary>
/// Which config.json keys may pass unread. A family reader marks every key it reads (or declares inert given the
/// values it read); what is left must be one of the keys below that never change a forward's numbers, or carry the
/// value that leaves the forward unchanged. Anything else is refused by name: a key Distill does not know may change
/// the numerics (as `rope_parameters` did before Distill read it), and a silently different logit is worse than an error.
/// </summary>
public static class ConfigKeys
{
    /// <summary>
    /// Keys with no effect on the forward: PretrainedConfig's bookkeeping, output switches and generation defaults
    /// (configuration_utils.py), what the model is, and dtype (weights are float32 in memory whatever they were stored as).
    /// </summary>
    public static readonly IReadOnlySet<string> Inert = new HashSet<string>(StringComparer.Ordinal)
    {
        "architectures", "model_type", "transformers_version", "_name_or_path", "_commit_hash", "_attn_implementation",
        "_attn_implementation_autoset", "_attn_implementation_internal", "auto_map", "torch_dtype", "dtype", "use_bfloat16",
        "use_cache", "return_dict", "output_hidden_states", "output_attentions", "output_scores", "return_dict_in_generate",
        "torchscript", "tf_legacy_loss", "chunk_size_feed_forward", "is_decoder", "finetuning_task", "id2label", "label2id",
        "num_labels", "problem_type", "tokenizer_class", "prefix", "bos_token_id", "eos_token_id", "pad_token_id", "sep_token_id",
        "decoder_start_token_id", "task_specific_params", "max_length", "min_length", "do_sample", "early_stopping", "num_beams",
        "num_beam_groups", "diversity_penalty", "temperature", "top_k", "top_p", "typical_p", "repetition_penalty",
        "length_penalty", "no_repeat_ngram_size", "encoder_no_repeat_ngram_size", "bad_words_ids", "num_return_sequences",
        "forced_bos_token_id", "forced_eos_token_id", "remove_invalid_values", "exponential_decay_length_penalty",
        "suppress_tokens", "begin_suppress_tokens", "gradient_checkpointing", "initializer_range",
        // Llama: pretraining_tp > 1 splits the projections into slices and sums them (the same product, up to rounding)
        "pretraining_tp",
        // written by nanotron exports (SmolLM2): a marker only
        "is_llama_config",
    };

    /// <summary>Keys that change the forward unless they hold the neutral value; any other value is refused with the reason.</summary>
    public static readonly IReadOnlyDictionary<string, (Func<JsonNode?, bool> Neutral, string Why)> Conditional =
        new Dictionary<string, (Func<JsonNode?, bool>, string)>(StringComparer.Ordinal)
        {
            ["quantization_config"] = (n => n is null, "quantized checkpoints (GPTQ, AWQ, bitsandbytes, ...) are not read; dequantize to float weights first"),
            ["pruned_heads"] = (n => n is null || n is JsonObject { Count: 0 }, "pruned attention heads are not implemented"),
            ["is_encoder_decoder"] = (IsFalse, "encoder-decoder models are not implemented"),
            ["add_cross_attention"] = (IsFalse, "cross-attention is not implemented"),
            ["tie_encoder_decoder"] = (IsFalse, "encoder-decoder models are not implemented"),
            ["cross_attention_hidden_size"] = (n => n is null, "cross-attention is not implemented"),
            // nanotron's flag: true means pairs (x0, x1) rotate together, which transformers (rotate_half) does not compute
            ["rope_interleaved"] = (IsFalse, "interleaved RoPE is not implemented (transformers ignores the key and rotates halves)"),
        };

    static bool IsFalse(JsonNode? n) => n is null || n is JsonValue v && v.TryGetValue(out bool b) && !b;

    /// <summary>Refuses the first key that no reader handled and that may change the numerics.</summary>
    public static void CheckAllRead(ConfigJsonReader r, string architecture)
    {
        foreach (var (key, value) in r.Json)
        {
            if (r.ReadKeys.Contains(key) || Inert.Contains(key)) continue;
            if (Conditional.TryGetValue(key, out var c))
            {
                if (c.Neutral(value)) continue;
                throw new ModelFormatException($"{r.File}: '{key}' = {value?.ToJsonString()} is not implemented: {c.Why}");
            }
            throw new ModelFormatException($"{r.File}: '{key}' is not read by Distill's {architecture}; as it may change the numerics "
                + "it is refused (remove it from config.json if it does not)");
        }
    }

    /// <summary>dtype (transformers 5) or torch_dtype (transformers 4): the stored precision, "float32" when neither is given.</summary>
    public static string ReadDType(ConfigJsonReader r) => r.Has("dtype") ? r.String("dtype", "float32") : r.String("torch_dtype", "float32");

    /// <summary>
    /// `layer_types` (written by newer transformers), when present, must be the pattern the family computes from its other keys,
    /// <paramref name="expected"/> per layer; the message says which keys decide it.
    /// </summary>
    public static void CheckLayerTypes(ConfigJsonReader r, int layers, Func<int, string> expected, string decidedBy)
    {
        if (r.Node("layer_types") is not { } node) return;
        var want = Enumerable.Range(0, layers).Select(expected).ToArray();
        var got = node is JsonArray a ? a.Select(n => n is JsonValue v && v.TryGetValue(out string? s) ? s : "?").ToArray() : [];
        if (!got.SequenceEqual(want))
            throw new ModelFormatException($"{r.File}: 'layer_types' {node.ToJsonString()} is not supported; Distill reads the per-layer pattern "
                + $"from {decidedBy} (expected [{string.Join(", ", want.Select(e => $"\"{e}\""))}])");
    }
}
