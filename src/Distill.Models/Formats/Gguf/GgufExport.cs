namespace Distill.Models.Formats.Gguf;

/// <summary>What an export wrote: the file, its architecture, tensors by type, and caveats for the user.</summary>
public sealed record GgufExportResult(string Path, string Architecture, GgufFileType FileType, IReadOnlyDictionary<GgmlType, int> TensorsByType, IReadOnlyList<string> Caveats);

/// <summary>
/// A loaded model (adapters merged) plus its folder's tokenizer files → one GGUF v3 file llama.cpp runs.
/// Tensor types follow convert_hf_to_gguf.py's prepare_tensors: 1-D tensors, norms (*_norm.weight), biases (names not
/// ending in .weight) and position_embd stay F32; every other tensor gets the file type's type, and a Q8_0 tensor
/// whose rows are not whole 32-value blocks falls back to F16 as gguf-py's quantize does.
/// </summary>
public static class GgufExport
{
    /// <param name="architecture">the mapping to use instead of <see cref="GgufArchitectures.For"/> (tests use it to show a wrong mapping is caught).</param>
    public static GgufExportResult Write(CausalLM model, string modelDir, string outPath, string dtype, string? name = null, IGgufArchitecture? architecture = null)
    {
        if (model.Linears.Any(l => l.Lora is not null)) throw new InvalidOperationException("merge the LoRA adapters before a GGUF export");
        var (fileType, weightType) = GgmlTypes.Parse(dtype);
        var c = model.Config;
        var arch = architecture ?? GgufArchitectures.For(c);
        var metadata = new List<GgufEntry>
        {
            GgufEntry.String("general.architecture", arch.Name),
            GgufEntry.String("general.type", "model"),
            GgufEntry.String("general.name", name ?? new DirectoryInfo(modelDir).Name),
            GgufEntry.UInt32("general.alignment", GgufWriter.DefaultAlignment),
        };
        metadata.AddRange(arch.Metadata(c));
        metadata.Add(GgufEntry.UInt32("general.file_type", (uint)fileType));
        metadata.Add(GgufEntry.UInt32("general.quantization_version", 2)); // GGML_QNT_VERSION
        metadata.AddRange(GgufTokenizer.Metadata(modelDir, c));

        var tensors = new List<GgufTensor>();
        foreach (var t in arch.Tensors(model))
            tensors.Add(new GgufTensor(t.Name, t.Shape, TypeOf(t, weightType), t.Data));
        GgufWriter.Write(outPath, metadata, tensors);
        return new GgufExportResult(outPath, arch.Name, fileType,
            tensors.GroupBy(t => t.Type).ToDictionary(g => g.Key, g => g.Count()), arch.Caveats(c).ToList());
    }

    /// <summary>The stored type of one tensor under a file type whose weights are <paramref name="weights"/>.</summary>
    public static GgmlType TypeOf(GgufSource t, GgmlType weights)
    {
        if (t.Shape.Length <= 1 || t.Name.EndsWith("_norm.weight", StringComparison.Ordinal) || !t.Name.EndsWith(".weight", StringComparison.Ordinal)
            || t.Name == "position_embd.weight")
            return GgmlType.F32;
        if (weights == GgmlType.Q8_0 && t.Shape[^1] % Q8_0.BlockSize != 0) return GgmlType.F16;
        return weights;
    }
}
