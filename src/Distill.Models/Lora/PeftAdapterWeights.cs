using Distill.Models.Formats;

namespace Distill.Models.Lora;

/// <summary>One adapted linear's LoRA matrices. A: (r, in), B: (out, r), row-major as PEFT stores them.</summary>
public sealed record LoraPair(string ModulePath, int R, int InFeatures, int OutFeatures, float[] A, float[] B);

/// <summary>
/// `adapter_model.safetensors` in PEFT's layout: for each adapted module path P (e.g. `model.layers.0.self_attn.q_proj`)
/// the keys `base_model.model.P.lora_A.weight` [r, in] and `base_model.model.P.lora_B.weight` [out, r]. The adapter
/// name ("default") is not part of the key on disk (PEFT's get_peft_model_state_dict removes it).
/// </summary>
public static class PeftAdapterWeights
{
    public const string Prefix = "base_model.model.";
    public static string KeyA(string modulePath) => $"{Prefix}{modulePath}.lora_A.weight";
    public static string KeyB(string modulePath) => $"{Prefix}{modulePath}.lora_B.weight";

    public static void Save(string dir, IEnumerable<LoraPair> pairs, SafetensorsDType dtype = SafetensorsDType.F32)
    {
        var tensors = new List<NamedTensor>();
        foreach (var p in pairs.OrderBy(p => p.ModulePath, StringComparer.Ordinal))
        {
            tensors.Add(new NamedTensor(KeyA(p.ModulePath), [p.R, p.InFeatures], p.A));
            tensors.Add(new NamedTensor(KeyB(p.ModulePath), [p.OutFeatures, p.R], p.B));
        }
        SafetensorsWriter.Write(Path.Combine(dir, CheckpointNames.AdapterWeights), tensors, dtype);
    }

    /// <summary>Reads every LoRA pair; each key must be a lora_A/lora_B weight under base_model.model., pairs complete, ranks = r.</summary>
    public static List<LoraPair> Load(string dir, int r)
    {
        var path = Path.Combine(dir, CheckpointNames.AdapterWeights);
        using var file = SafetensorsFile.Open(path);
        var modules = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var key in file.Tensors.Keys)
        {
            string? module = key.StartsWith(Prefix, StringComparison.Ordinal) && key.EndsWith(".lora_A.weight", StringComparison.Ordinal) ? key[Prefix.Length..^".lora_A.weight".Length]
                : key.StartsWith(Prefix, StringComparison.Ordinal) && key.EndsWith(".lora_B.weight", StringComparison.Ordinal) ? key[Prefix.Length..^".lora_B.weight".Length]
                : null;
            if (module is null)
                throw new ModelFormatException($"{path}: tensor '{key}' is not a PEFT LoRA weight (expected base_model.model.<module>.lora_A.weight / lora_B.weight)");
            modules.Add(module);
        }
        var pairs = new List<LoraPair>();
        foreach (var m in modules)
        {
            if (!file.Tensors.ContainsKey(KeyA(m))) throw new ModelFormatException($"{path}: missing tensor '{KeyA(m)}' (its lora_B is present)");
            if (!file.Tensors.ContainsKey(KeyB(m))) throw new ModelFormatException($"{path}: missing tensor '{KeyB(m)}' (its lora_A is present)");
            var a = file.Info(KeyA(m));
            var b = file.Info(KeyB(m));
            if (a.Shape.Length != 2 || b.Shape.Length != 2 || a.Shape[0] != r || b.Shape[1] != r)
                throw new ModelFormatException($"{path}: '{m}' has lora_A [{string.Join(", ", a.Shape)}] and lora_B [{string.Join(", ", b.Shape)}]; expected [r, in] and [out, r] with r = {r}");
            pairs.Add(new LoraPair(m, r, (int)a.Shape[1], (int)b.Shape[0], file.ReadFloat32(KeyA(m)), file.ReadFloat32(KeyB(m))));
        }
        return pairs;
    }
}
