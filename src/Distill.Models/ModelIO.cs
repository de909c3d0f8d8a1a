using Distill.Models.Formats;
using Distill.Models.Gemma3;
using Distill.Models.Gpt2;
using Distill.Models.Llama;
using Distill.Models.Phi;
using Distill.Models.Phi3;

namespace Distill.Models;

/// <summary>
/// Builds a model from a config, loads a Hugging Face folder (config.json + model.safetensors or shards) into it
/// by the family's tensor names, and saves it back in the same layout. Missing or unexpected tensors and wrong
/// shapes are errors naming the tensor and the file.
/// </summary>
public static class ModelIO
{
    public static CausalLM Create(ModelConfig config) => config.Family switch
    {
        ModelFamily.Gpt2 => new Gpt2LMHeadModel(config),
        ModelFamily.Phi => new PhiForCausalLM(config),
        ModelFamily.Phi3 => new Phi3ForCausalLM(config),
        ModelFamily.Gemma3 => new Gemma3ForCausalLM(config),
        ModelFamily.Llama when config.IsSequenceClassifier => new LlamaForSequenceClassification(config),
        _ => new LlamaForCausalLM(config),
    };

    /// <summary>
    /// Loads a model folder. <paramref name="log"/>, when given, receives one line saying what was found: the class, the
    /// config.json generation and the checkpoint's tensor-name layout.
    /// </summary>
    public static CausalLM Load(string dir, Action<string>? log = null)
    {
        var model = Create(ConfigJson.Load(dir));
        try
        {
            using var ckpt = Checkpoint.Open(dir);
            LoadWeights(model, ckpt);
            log?.Invoke(Describe(dir, model.Config, model.LoadedLayout!.Value));
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>What a folder holds, without building the model: its config and its checkpoint's tensor-name layout.</summary>
    public static (ModelConfig Config, CheckpointLayout Layout, int Tensors) Inspect(string dir)
    {
        var config = ConfigJson.Load(dir);
        using var ckpt = Checkpoint.Open(dir);
        var names = ckpt.Names.ToList();
        return (config, CheckpointLayouts.Detect(CheckpointLayouts.PrefixOf(config.Family), names, ckpt.Directory), names.Count);
    }

    /// <summary>One line: "DIR: LlamaForCausalLM, transformers 5 config.json, tensor names without the 'model.' prefix (...)".</summary>
    public static string Describe(string dir, ModelConfig config, CheckpointLayout layout)
        => $"{dir}: {config.Architecture}, transformers {config.ConfigGeneration} config.json, "
            + CheckpointLayouts.Describe(layout, CheckpointLayouts.PrefixOf(config.Family));

    /// <summary>
    /// Reads every weight of <paramref name="model"/> from <paramref name="ckpt"/>, in either tensor-name layout
    /// (<see cref="CheckpointLayouts"/>). A head tied to the embedding may be absent (tie_word_embeddings, as transformers
    /// ties it); when stored it must equal the embedding, since transformers 4 would use the embedding and transformers 5
    /// the stored head ("both are present in the checkpoints, so we will NOT tie them"). An untied head that is missing is
    /// an error naming it (transformers would initialize it at random).
    /// </summary>
    public static void LoadWeights(CausalLM model, Checkpoint ckpt)
    {
        string prefix = model.BaseModelPrefix;
        var own = model.Weights.Select(w => w.Name).Concat(model.OptionalNames).ToHashSet(StringComparer.Ordinal);
        var layout = CheckpointLayouts.Detect(prefix, ckpt.Names, ckpt.Directory, own.Contains);
        string Stored(string name) => CheckpointLayouts.StoredName(name, prefix, layout);
        ckpt.CheckNames(model.Weights.Select(w => Stored(w.Name)), model.OptionalNames.Select(Stored), model.IgnoredName);
        foreach (var w in model.Weights)
        {
            var shape = w.Parameter.Value.Shape.ToArray().Select(d => (long)d).ToArray();
            if (!w.TransposedOnDisk)
            {
                ckpt.ReadFloat32(Stored(w.Name), shape).CopyTo(w.Parameter.Span);
                continue;
            }
            // Conv1D stores [in, out]; the engine keeps [out, in].
            int outF = (int)shape[0], inF = (int)shape[1];
            var disk = ckpt.ReadFloat32(Stored(w.Name), inF, outF);
            Transpose(disk, inF, outF, w.Parameter.Span);
        }
        if (model.TiedHead is var (head, embedding) && ckpt.Contains(Stored(head)))
        {
            var e = model.Weights.First(w => w.Name == embedding).Parameter;
            var stored = ckpt.ReadFloat32(Stored(head), e.Value.Shape.ToArray().Select(d => (long)d).ToArray());
            if (!stored.AsSpan().SequenceEqual(e.Span))
                throw new ModelFormatException($"{ckpt.FileOf(Stored(head)).Path}: '{Stored(head)}' differs from '{Stored(embedding)}' although "
                    + "tie_word_embeddings is true (transformers 4 would use the embedding, transformers 5 the stored head); set tie_word_embeddings to say which");
        }
        model.LoadedLayout = layout;
    }

    /// <summary>Writes config.json and the weights (F32 or BF16; sharded above <paramref name="maxShardBytes"/>).</summary>
    public static void Save(CausalLM model, string dir, SafetensorsDType dtype = SafetensorsDType.F32, long maxShardBytes = 5_000_000_000)
    {
        var tensors = new List<NamedTensor>();
        foreach (var w in model.Weights)
        {
            var shape = w.Parameter.Value.Shape.ToArray();
            if (model.Linears.FirstOrDefault(l => l.Path + ".weight" == w.Name) is { Quantized: not null } q)
                throw new InvalidOperationException($"{w.Name} is held as NF4; merge or dequantize before saving a full checkpoint");
            if (!w.TransposedOnDisk)
            {
                tensors.Add(new NamedTensor(w.Name, shape, w.Parameter.Span.ToArray()));
                continue;
            }
            var disk = new float[w.Parameter.Length];
            Transpose(w.Parameter.Span, shape[0], shape[1], disk);
            tensors.Add(new NamedTensor(w.Name, [shape[1], shape[0]], disk));
        }
        Directory.CreateDirectory(dir);
        // A partial save must not look complete: weights first, config.json (what loaders look for) last.
        SafetensorsWriter.WriteCheckpoint(dir, tensors, dtype, maxShardBytes);
        ConfigJson.Save(model.Config with { TorchDType = dtype == SafetensorsDType.BF16 ? "bfloat16" : dtype == SafetensorsDType.F16 ? "float16" : "float32" }, dir);
    }

    /// <summary>src (rows, cols) → dst (cols, rows).</summary>
    static void Transpose(ReadOnlySpan<float> src, int rows, int cols, Span<float> dst)
    {
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
                dst[c * rows + r] = src[r * cols + c];
    }

}
