using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Distill.Models;
using Distill.Models.Formats;
using Distill.Models.Lora;
using Distill.Tensors;
using Distill.Tensors.Optim;

namespace Distill.Training;

/// <summary>
/// The resumable state of a run at an optimizer-step boundary, as files in checkpoints/step-NNNNNN/:
/// the trained weights (PEFT adapter: adapter_config.json + adapter_model.safetensors; or a full Hugging Face model
/// folder), optimizer.safetensors (AdamW's exp_avg.NAME / exp_avg_sq.NAME, float32) and trainer_state.json (step,
/// AdamW's t, both generators' states, the data-loader position, and the byte length metrics.jsonl had at this step).
/// Written atomically: everything goes to a hidden temporary folder that is renamed into place (rename(2) is atomic),
/// so a kill at any moment leaves either the complete checkpoint or none; leftovers are swept on the next start.
/// </summary>
public static class TrainerCheckpoint
{
    public const string Folder = "checkpoints";
    public const string StateFile = "trainer_state.json";
    public const string OptimizerFile = "optimizer.safetensors";
    const string Prefix = "step-";
    const string TempPrefix = ".tmp-";

    /// <summary>What trainer_state.json holds.</summary>
    public sealed record State(int Step, int AdamStep, int Epoch, int MicroBatch, long MetricsBytes, RngState Rng, RngState DropoutRng, string Objective);

    public static string PathOf(string outDir, int step) => Path.Combine(outDir, Folder, $"{Prefix}{step:D6}");

    /// <summary>Writes the checkpoint of <paramref name="state"/> and keeps the newest <paramref name="keep"/>; returns its folder.</summary>
    public static string Save(string outDir, CausalLM model, LoraConfig? lora, AdamW optimizer, State state, int keep)
    {
        string root = Path.Combine(outDir, Folder);
        Directory.CreateDirectory(root);
        string final = PathOf(outDir, state.Step);
        string tmp = Path.Combine(root, $"{TempPrefix}{Prefix}{state.Step:D6}-{Environment.ProcessId}");
        if (Directory.Exists(tmp)) Directory.Delete(tmp, recursive: true);
        Directory.CreateDirectory(tmp);
        SaveWeights(model, lora, tmp);
        var tensors = new List<NamedTensor>();
        for (int k = 0; k < optimizer.Parameters.Count; k++)
        {
            var p = optimizer.Parameters[k];
            tensors.Add(new NamedTensor($"exp_avg.{p.Name}", p.Value.Shape.ToArray(), optimizer.FirstMoments[k].Span.ToArray()));
            tensors.Add(new NamedTensor($"exp_avg_sq.{p.Name}", p.Value.Shape.ToArray(), optimizer.SecondMoments[k].Span.ToArray()));
        }
        SafetensorsWriter.Write(Path.Combine(tmp, OptimizerFile), tensors);
        File.WriteAllText(Path.Combine(tmp, StateFile), ToJson(state).ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        if (Directory.Exists(final)) Directory.Delete(final, recursive: true);
        Directory.Move(tmp, final);
        foreach (var old in Complete(outDir).SkipLast(keep)) Directory.Delete(old.Dir, recursive: true);
        return final;
    }

    /// <summary>The trained weights in their interchange layout: a PEFT adapter folder, or a Hugging Face model folder.</summary>
    public static void SaveWeights(CausalLM model, LoraConfig? lora, string dir)
    {
        if (lora is not null) LoraModel.Save(model, lora, dir);
        else ModelIO.Save(model, dir);
    }

    /// <summary>Complete checkpoints, oldest first; deletes temporary folders left by a killed run.</summary>
    public static IReadOnlyList<(int Step, string Dir)> Complete(string outDir)
    {
        string root = Path.Combine(outDir, Folder);
        if (!Directory.Exists(root)) return [];
        foreach (var t in Directory.GetDirectories(root, TempPrefix + "*")) Directory.Delete(t, recursive: true);
        return Directory.GetDirectories(root, Prefix + "*")
            .Select(d => (Ok: int.TryParse(Path.GetFileName(d)[Prefix.Length..], NumberStyles.None, CultureInfo.InvariantCulture, out int s), Step: s, Dir: d))
            .Where(x => x.Ok && File.Exists(Path.Combine(x.Dir, StateFile)))
            .OrderBy(x => x.Step).Select(x => (x.Step, x.Dir)).ToList();
    }

    /// <summary>Restores weights and optimizer moments in place (the optimizer keeps its buffers) and returns the state.</summary>
    public static State Load(string dir, CausalLM model, LoraConfig? lora, AdamW optimizer)
    {
        var state = FromJson(JsonNode.Parse(File.ReadAllText(Path.Combine(dir, StateFile)))!, Path.Combine(dir, StateFile));
        if (lora is not null)
        {
            using var f = SafetensorsFile.Open(Path.Combine(dir, CheckpointNames.AdapterWeights));
            foreach (var l in model.Linears.Where(l => l.Lora is not null))
            {
                f.ReadFloat32(PeftAdapterWeights.KeyA(l.Path), l.Lora!.A.Span);
                f.ReadFloat32(PeftAdapterWeights.KeyB(l.Path), l.Lora.B.Span);
            }
        }
        else
        {
            using var ckpt = Checkpoint.Open(dir);
            ModelIO.LoadWeights(model, ckpt);
        }
        using (var opt = SafetensorsFile.Open(Path.Combine(dir, OptimizerFile)))
            for (int k = 0; k < optimizer.Parameters.Count; k++)
            {
                var p = optimizer.Parameters[k];
                opt.ReadFloat32($"exp_avg.{p.Name}", optimizer.FirstMoments[k].Span);
                opt.ReadFloat32($"exp_avg_sq.{p.Name}", optimizer.SecondMoments[k].Span);
            }
        optimizer.StepCount = state.AdamStep;
        return state;
    }

    static JsonObject ToJson(State s) => new()
    {
        ["global_step"] = s.Step, ["adam_step"] = s.AdamStep, ["epoch"] = s.Epoch, ["micro_batch"] = s.MicroBatch,
        ["metrics_bytes"] = s.MetricsBytes, ["objective"] = s.Objective, ["rng"] = Rng(s.Rng), ["dropout_rng"] = Rng(s.DropoutRng),
    };

    // ulongs and the cached normal as hex strings: exact, and safe from JSON's double-precision numbers
    static JsonObject Rng(RngState r) => new()
    {
        ["s"] = new JsonArray(Hex(r.S0), Hex(r.S1), Hex(r.S2), Hex(r.S3)),
        ["spare"] = Hex((ulong)BitConverter.DoubleToInt64Bits(r.Spare)), ["has_spare"] = r.HasSpare,
    };

    static string Hex(ulong x) => x.ToString("x16", CultureInfo.InvariantCulture);

    static State FromJson(JsonNode j, string path)
    {
        try
        {
            return new State((int)j["global_step"]!, (int)j["adam_step"]!, (int)j["epoch"]!, (int)j["micro_batch"]!, (long)j["metrics_bytes"]!,
                ReadRng(j["rng"]!), ReadRng(j["dropout_rng"]!), (string)j["objective"]!);
        }
        catch (Exception e) when (e is NullReferenceException or InvalidOperationException or FormatException)
        {
            throw new FormatException($"{path}: not a Distill trainer state ({e.Message})", e);
        }
    }

    static RngState ReadRng(JsonNode j)
    {
        var s = j["s"]!.AsArray().Select(x => ulong.Parse((string)x!, NumberStyles.HexNumber, CultureInfo.InvariantCulture)).ToArray();
        double spare = BitConverter.Int64BitsToDouble((long)ulong.Parse((string)j["spare"]!, NumberStyles.HexNumber, CultureInfo.InvariantCulture));
        return new RngState(s[0], s[1], s[2], s[3], spare, (bool)j["has_spare"]!);
    }
}
