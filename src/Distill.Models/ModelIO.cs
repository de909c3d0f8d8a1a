using Distill.Models.Formats;
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
        ModelFamily.Llama when config.IsSequenceClassifier => new LlamaForSequenceClassification(config),
        _ => new LlamaForCausalLM(config),
    };

    public static CausalLM Load(string dir)
    {
        var model = Create(ConfigJson.Load(dir));
        try
        {
            using var ckpt = Checkpoint.Open(dir);
            LoadWeights(model, ckpt);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    public static void LoadWeights(CausalLM model, Checkpoint ckpt)
    {
        ckpt.CheckNames(model.Weights.Select(w => w.Name), model.OptionalNames, model.IgnoredName);
        foreach (var w in model.Weights)
        {
            var shape = w.Parameter.Value.Shape.ToArray().Select(d => (long)d).ToArray();
            if (!w.TransposedOnDisk)
            {
                ckpt.ReadFloat32(w.Name, shape).CopyTo(w.Parameter.Span);
                continue;
            }
            // Conv1D stores [in, out]; the engine keeps [out, in].
            int outF = (int)shape[0], inF = (int)shape[1];
            var disk = ckpt.ReadFloat32(w.Name, inF, outF);
            Transpose(disk, inF, outF, w.Parameter.Span);
        }
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
