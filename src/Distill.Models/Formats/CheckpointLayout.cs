namespace Distill.Models.Formats;

/// <summary>
/// How a checkpoint names the base model's tensors. transformers' task classes (GPT2LMHeadModel, LlamaForCausalLM, ...)
/// hold the base model under <c>base_model_prefix</c> ("transformer" for GPT-2, "model" for the others) and save its
/// tensors with that prefix (<c>transformer.h.0.attn.c_attn.weight</c>); a base model saved alone (GPT2Model, LlamaModel) has
/// none (<c>h.0.attn.c_attn.weight</c>), which is how GPT-2's original release is stored (also without lm_head.weight).
/// </summary>
public enum CheckpointLayout
{
    /// <summary>Base-model tensors carry the prefix: what transformers' task classes save.</summary>
    Prefixed,
    /// <summary>Base-model tensors carry no prefix: a base model's state dict (GPT-2's original release).</summary>
    Unprefixed,
}

/// <summary>
/// Finds a checkpoint's layout and maps the model's names to the stored ones. transformers 5 maps per key
/// (core_model_loading.py rename_source_key: a stored key gains the prefix when the model has <c>prefix.key</c>, so head
/// tensors such as lm_head.weight or score.weight stay as they are); transformers 4 decided once per checkpoint
/// (modeling_utils.py _load_pretrained_model: "loading_task_model_from_base_state_dict" when no stored key starts with the
/// prefix). Distill takes the per-key mapping, and refuses a checkpoint that mixes both forms for base-model tensors.
/// </summary>
public static class CheckpointLayouts
{
    /// <summary>Tensors outside the base model: the LM head and the classifier head of *ForSequenceClassification.</summary>
    static readonly string[] Heads = ["lm_head.weight", "lm_head.bias", "score.weight", "score.bias"];

    /// <summary>transformers' base_model_prefix of the family's classes.</summary>
    public static string PrefixOf(ModelFamily family) => family == ModelFamily.Gpt2 ? "transformer" : "model";

    /// <summary>Buffers some checkpoints carry that are not weights (rotary inv_freq, GPT-2's causal-mask buffers).</summary>
    public static bool IsBuffer(string name) => name.EndsWith(".rotary_emb.inv_freq", StringComparison.Ordinal) || Gpt2.Gpt2Weights.IsMaskBuffer(name);

    /// <summary>
    /// The layout of the stored names; a mix of prefixed and unprefixed base-model tensors is an error naming one of each.
    /// With <paramref name="modelHas"/> (the model's own names), an unprefixed name counts only when the model has it under the
    /// prefix, so a stray tensor is reported as unexpected by the name check rather than as a second layout.
    /// </summary>
    public static CheckpointLayout Detect(string prefix, IEnumerable<string> stored, string where, Func<string, bool>? modelHas = null)
    {
        string dotted = prefix + ".";
        string? withPrefix = null, without = null;
        foreach (var name in stored.Order(StringComparer.Ordinal))
        {
            if (name.StartsWith(dotted, StringComparison.Ordinal)) withPrefix ??= name;
            else if (!Heads.Contains(name) && !IsBuffer(name) && (modelHas?.Invoke(dotted + name) ?? true)) without ??= name;
        }
        if (withPrefix is not null && without is not null)
            throw new ModelFormatException($"{where}: the tensor names mix two layouts: '{withPrefix}' carries the '{dotted}' prefix, '{without}' does not");
        return without is not null ? CheckpointLayout.Unprefixed : CheckpointLayout.Prefixed;
    }

    /// <summary>The stored name of the model's tensor <paramref name="name"/> in <paramref name="layout"/>.</summary>
    public static string StoredName(string name, string prefix, CheckpointLayout layout)
        => layout == CheckpointLayout.Unprefixed && name.StartsWith(prefix + ".", StringComparison.Ordinal) ? name[(prefix.Length + 1)..] : name;

    /// <summary>A short description for logs and `distill info`.</summary>
    public static string Describe(CheckpointLayout layout, string prefix) => layout == CheckpointLayout.Prefixed
        ? $"'{prefix}.'-prefixed tensor names (transformers' task-class layout)"
        : $"tensor names without the '{prefix}.' prefix (a base model's layout, e.g. GPT-2's original release)";
}
