using Distill.Models.Formats;

namespace Distill.Models.Lora;

/// <summary>
/// Whether a PEFT adapter was made for this base model; refuses it with the reason otherwise. PEFT itself loads an
/// adapter for another base with at most a warning about missing keys (set_peft_model_state_dict) or a shape error deep
/// in torch; Distill refuses up front, naming the first module and the fact that differs:
/// - an adapter module the model does not have ('model.layers.5.self_attn.q_proj' on a 2-layer model);
/// - a module whose [out, in] differs (another width, or GQA vs MHA for k/v);
/// - a module with weights that target_modules does not select (the config and weights disagree);
/// - a module target_modules selects in this model that has no weights (an adapter for a shallower or other model:
///   PEFT would leave it at B = 0 silently);
/// - base_model_name_or_path naming a local model folder whose config.json has another architecture or shape
///   (a hub id is informative only: Distill cannot see the hub, and a fine-tuned copy may carry the same shape under another name).
/// </summary>
public static class AdapterFit
{
    public static void Check(CausalLM model, LoraConfig config, IReadOnlyList<LoraPair> pairs, string dir)
    {
        string file = Path.Combine(dir, CheckpointNames.AdapterWeights);
        string arch = model.Config.Architecture;
        var byPath = model.Linears.ToDictionary(l => l.Path, StringComparer.Ordinal);
        foreach (var p in pairs)
        {
            if (!byPath.TryGetValue(p.ModulePath, out var l))
                throw new ModelFormatException($"{file}: module '{p.ModulePath}' does not exist in {arch} ({model.Config.NumLayers} layers); the adapter was made for another base model");
            if (l.InFeatures != p.InFeatures || l.OutFeatures != p.OutFeatures)
                throw new ModelFormatException($"{file}: '{p.ModulePath}' is [{p.OutFeatures}, {p.InFeatures}] in the adapter but [{l.OutFeatures}, {l.InFeatures}] in the model; the adapter was made for another base model");
            if (!config.Targets(p.ModulePath))
                throw new ModelFormatException($"{file}: '{p.ModulePath}' has LoRA weights but target_modules in adapter_config.json does not select it");
        }
        var present = pairs.Select(p => p.ModulePath).ToHashSet(StringComparer.Ordinal);
        var targeted = model.Linears.Where(l => config.Targets(l.Path)).Select(l => l.Path).ToList();
        if (targeted.Count == 0)
            throw new ModelFormatException($"{Path.Combine(dir, CheckpointNames.AdapterConfig)}: target_modules [{string.Join(", ", config.TargetModules)}{config.TargetModulesRegex}] select no linear of {arch} (e.g. '{model.Linears[0].Path}'); the adapter was made for another architecture");
        if (targeted.FirstOrDefault(t => !present.Contains(t)) is { } missing)
            throw new ModelFormatException($"{file}: target_modules selects '{missing}' in {arch} but the adapter has no weights for it ({present.Count} of {targeted.Count} targeted modules present); the adapter was made for another base model");
        CheckNamedBase(model.Config, config.BaseModelNameOrPath, dir);
    }

    static void CheckNamedBase(ModelConfig c, string? baseName, string dir)
    {
        if (string.IsNullOrEmpty(baseName) || !File.Exists(Path.Combine(baseName, CheckpointNames.Config))) return;
        ModelConfig named;
        try { named = ConfigJson.Load(baseName); }
        catch (ModelFormatException) { return; } // a folder Distill cannot read says nothing either way
        var diffs = new List<string>();
        void Diff<T>(string key, T a, T b) { if (!EqualityComparer<T>.Default.Equals(a, b)) diffs.Add($"{key} {b} there, {a} here"); }
        Diff("architecture", c.Architecture, named.Architecture);
        Diff("hidden_size", c.HiddenSize, named.HiddenSize);
        Diff("num_hidden_layers", c.NumLayers, named.NumLayers);
        Diff("vocab_size", c.VocabSize, named.VocabSize);
        Diff("num_key_value_heads", c.NumKvHeads, named.NumKvHeads);
        if (diffs.Count > 0)
            throw new ModelFormatException($"{Path.Combine(dir, CheckpointNames.AdapterConfig)}: base_model_name_or_path '{baseName}' is a different model ({string.Join(", ", diffs)})");
    }
}
