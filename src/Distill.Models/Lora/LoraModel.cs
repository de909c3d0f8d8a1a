using Distill.Models.Formats;
using Distill.Models.Layers;
using Distill.Tensors;
using Distill.Tensors.Autograd;

namespace Distill.Models.Lora;

/// <summary>
/// LoRA on a model's linears (PEFT's LoraModel): attach branches to the modules the config targets and freeze
/// the base, save and load them in PEFT's layout, and merge them into the base weights (merge_and_unload).
/// QLoRA = <see cref="QuantizeBase"/> (every base linear but lm_head to NF4, as bitsandbytes' 4-bit loading skips
/// lm_head) followed by <see cref="Apply"/>.
/// </summary>
public static class LoraModel
{
    public static IReadOnlyList<LoraBranch> Apply(CausalLM model, LoraConfig config, ulong seed)
    {
        config.Validate();
        var rng = new Rng(seed);
        var branches = new List<LoraBranch>();
        foreach (var l in model.Linears.Where(l => config.Targets(l.Path)))
        {
            if (l.Lora is not null) throw new InvalidOperationException($"{l.Path} already has a LoRA adapter");
            l.Lora = new LoraBranch(l.Path, l.InFeatures, l.OutFeatures, config, rng);
            branches.Add(l.Lora);
        }
        if (branches.Count == 0)
            throw new ArgumentException($"target_modules [{string.Join(", ", config.TargetModules)}{config.TargetModulesRegex}] match no linear of {model.Config.Architecture} (e.g. {model.Linears[0].Path})");
        model.FreezeBase();
        return branches;
    }

    public static IEnumerable<LoraBranch> Branches(CausalLM model) => model.Linears.Where(l => l.Lora is not null).Select(l => l.Lora!);

    /// <summary>Switches every adapter on or off (off = the frozen base model, as PEFT's disable_adapter()).</summary>
    public static void SetEnabled(CausalLM model, bool enabled)
    {
        foreach (var b in Branches(model)) b.Enabled = enabled;
    }

    public static void SetTraining(CausalLM model, bool training)
    {
        foreach (var b in Branches(model)) b.Training = training;
    }

    /// <summary>Writes adapter_config.json and adapter_model.safetensors (PEFT key names; F32 unless <paramref name="dtype"/> says F16 or BF16).</summary>
    public static void Save(CausalLM model, LoraConfig config, string dir, SafetensorsDType dtype = SafetensorsDType.F32)
    {
        var pairs = model.Linears.Where(l => l.Lora is not null)
            .Select(l => new LoraPair(l.Path, l.Lora!.R, l.InFeatures, l.OutFeatures, l.Lora.A.Span.ToArray(), l.Lora.B.Span.ToArray())).ToList();
        if (pairs.Count == 0) throw new InvalidOperationException("the model has no LoRA adapters to save");
        Directory.CreateDirectory(dir);
        PeftAdapterWeights.Save(dir, pairs, dtype);
        config.Save(dir);
    }

    /// <summary>
    /// Loads a PEFT adapter folder onto the model after checking it was made for this base (<see cref="AdapterFit.Check"/>):
    /// every adapted module exists with matching shapes, the weights are exactly the modules target_modules selects in
    /// this model, and a base_model_name_or_path that is a local model folder has this model's shape.
    /// </summary>
    public static LoraConfig Load(CausalLM model, string dir, ulong seed = 0)
    {
        var config = LoraConfig.Load(dir);
        var pairs = PeftAdapterWeights.Load(dir, config.R);
        AdapterFit.Check(model, config, pairs, dir);
        var byPath = model.Linears.ToDictionary(l => l.Path, StringComparer.Ordinal);
        var rng = new Rng(seed);
        foreach (var p in pairs)
        {
            var l = byPath[p.ModulePath];
            l.Lora?.Dispose();
            l.Lora = new LoraBranch(l.Path, l.InFeatures, l.OutFeatures, config, rng);
            p.A.CopyTo(l.Lora.A.Span);
            p.B.CopyTo(l.Lora.B.Span);
        }
        model.FreezeBase();
        return config;
    }

    /// <summary>W ← W + s·B A for every adapted linear, then drops the adapters (PEFT merge_and_unload). NF4 bases become fp32.</summary>
    public static void MergeAndUnload(CausalLM model)
    {
        foreach (var l in model.Linears.Where(l => l.Lora is not null))
        {
            var merged = l.DenseWeight();
            var delta = l.Lora!.DeltaWeight();
            for (int i = 0; i < merged.Length; i++) merged[i] += delta[i];
            l.SetDenseWeight(merged);
            l.Lora.Dispose();
            l.Lora = null;
        }
    }

    /// <summary>Every base linear except lm_head to NF4 with double quantization; returns (NF4 bytes, parameters quantized).</summary>
    public static (long Bytes, long Parameters) QuantizeBase(CausalLM model)
    {
        long bytes = 0, n = 0;
        foreach (var l in model.Linears.Where(l => l.Path != "lm_head"))
        {
            l.QuantizeNf4();
            bytes += l.Quantized!.Bytes;
            n += (long)l.InFeatures * l.OutFeatures;
        }
        model.FreezeBase();
        return (bytes, n);
    }
}
