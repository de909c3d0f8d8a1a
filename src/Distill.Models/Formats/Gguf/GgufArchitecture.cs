namespace Distill.Models.Formats.Gguf;

/// <summary>A tensor on its way into GGUF: llama.cpp's name, PyTorch-order shape, float32 values.</summary>
public sealed record GgufSource(string Name, long[] Shape, float[] Data);

/// <summary>
/// How one model family becomes a llama.cpp architecture: the general.architecture name, the `{arch}.*` hyper-parameter
/// keys, and the model's tensors under llama.cpp's names and layouts (gguf-py constants.py MODEL_TENSOR names,
/// convert_hf_to_gguf.py's per-model modify_tensors). Extension point: a new family adds a class here and a case in
/// <see cref="GgufArchitectures.For"/>; every weight of the model must map to a name or the export fails.
/// </summary>
public interface IGgufArchitecture
{
    string Name { get; }
    IEnumerable<GgufEntry> Metadata(ModelConfig c);
    IEnumerable<GgufSource> Tensors(CausalLM model);
    /// <summary>Differences llama.cpp will have from Distill's forward for this config (e.g. a sliding window it does not apply); empty when none.</summary>
    IEnumerable<string> Caveats(ModelConfig c) => [];
}

public static class GgufArchitectures
{
    /// <summary>The GGUF architecture for a config (convert_hf_to_gguf.py: Llama and Mistral → llama, Qwen2 → qwen2, GPT-2 → gpt2).</summary>
    public static IGgufArchitecture For(ModelConfig c)
    {
        if (c.IsSequenceClassifier) throw new ModelFormatException($"{c.Architecture} is a sequence classifier; GGUF export is for language models");
        return (c.Family, c.ModelType) switch
        {
            (ModelFamily.Llama, "llama" or "mistral") => new LlamaGguf("llama", permuteQk: true),
            (ModelFamily.Llama, "qwen2") => new LlamaGguf("qwen2", permuteQk: false),
            // convert_hf_to_gguf.py Qwen3Model (a Qwen2Model): NEOX RoPE, no permutation; q_norm/k_norm → attn_q_norm/attn_k_norm
            (ModelFamily.Llama, "qwen3") => new LlamaGguf("qwen3", permuteQk: false),
            (ModelFamily.Gpt2, _) => new Gpt2Gguf(),
            (ModelFamily.Gemma3, _) => new Gemma3Gguf(),
            _ => throw new ModelFormatException($"{c.Architecture} (model_type '{c.ModelType}') has no GGUF mapping in Distill yet "
                + "(exported: LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM, Gemma3ForCausalLM, GPT2LMHeadModel)"),
        };
    }

    /// <summary>The model's weights by Hugging Face name, as [out, in] float32 (GPT-2's Conv1D already transposed).</summary>
    internal static Dictionary<string, (long[] Shape, float[] Data)> ByName(CausalLM model)
        => model.Weights.ToDictionary(w => w.Name, w => (w.Parameter.Value.Shape.ToArray().Select(d => (long)d).ToArray(), w.Parameter.Span.ToArray()), StringComparer.Ordinal);

    /// <summary>Maps every weight through <paramref name="rename"/>; a weight with no llama.cpp name fails the export, naming it.</summary>
    internal static List<GgufSource> Rename(CausalLM model, Func<string, string?> rename)
    {
        var list = new List<GgufSource>();
        foreach (var (name, (shape, data)) in ByName(model))
            list.Add(new GgufSource(rename(name) ?? throw new ModelFormatException($"'{name}' of {model.Config.Architecture} has no llama.cpp tensor name"), shape, data));
        return list;
    }
}
