using System.Diagnostics;
using Distill.Models;
using Distill.Models.Lora;
using Distill.Tensors;
using Distill.Tensors.Autograd;
using Distill.Tensors.Optim;
using Distill.Training;
using Distill.Training.Data;
using Distill.Training.Objectives;

namespace Distill.Bench.Cli;

/// <summary>
/// The training step of `distill bench engine`: the configs bench/reference/torch_baseline.py measures in PyTorch,
/// built as the library's <see cref="CausalLM"/> presets and trained through the <see cref="Trainer"/> with the SFT
/// objective (<see cref="Trainer.Step"/> after one warm-up step) — the same path every method takes, not a loop of
/// its own. AdamW lr 1e-4, betas 0.9/0.999, eps 1e-8, weight decay 0, no clipping, dropout off; 4 fixed batches of
/// B random sequences of T tokens cycled. Each sequence is a 1-token prompt and T − 1 tokens to predict, so the
/// loss is the mean cross-entropy over B·(T − 1) positions (torch_baseline.py: B·T positions against random
/// targets; the forward and backward work is the same). Reports the median step, tokens/s = B·T / median, peak RSS.
/// </summary>
public static class EngineTrainBench
{
    public static IReadOnlyList<string> Configs { get; } = ["bench-small", "bench-small-llama", "bench-small-lora", "gpt2-124M"];

    /// <summary>(model shape, batch, sequence length, LoRA rank) of a torch_baseline.py config.</summary>
    static (ModelConfig Model, int Batch, int SeqLen, int LoraRank) Shape(string config) => config switch
    {
        "bench-small" => (NoDropout(ModelPresets.Get("bench-small")), 8, 128, 0),
        "bench-small-llama" => (ModelPresets.Get("bench-small-llama") with { NormEps = 1e-5 }, 8, 128, 0),
        "bench-small-lora" => (ModelPresets.Get("bench-small-llama") with { NormEps = 1e-5 }, 8, 128, 8),
        "gpt2-124M" => (NoDropout(ModelPresets.Get("gpt2-124m")), 4, 64, 0),
        _ => throw new ArgumentException($"unknown config '{config}' (known: {string.Join(", ", Configs)})"),
    };

    static ModelConfig NoDropout(ModelConfig c) => c with { ResidDropout = 0, EmbdDropout = 0, AttentionDropout = 0 };

    public static TrainResult Measure(string config, int warmupSteps, int timedSteps, IProgress<string>? log = null)
    {
        if (warmupSteps < 0 || timedSteps < 1) throw new ArgumentException($"bench engine: warmup {warmupSteps} ≥ 0 and timed steps {timedSteps} ≥ 1 required");
        var (shape, batch, seqLen, loraRank) = Shape(config);
        using var model = ModelIO.Create(shape with { TorchDType = "float32" });
        ModelInit.Initialize(model, 1337);
        LoraConfig? lora = null;
        if (loraRank > 0)
        {
            lora = new LoraConfig { R = loraRank, LoraAlpha = loraRank, TargetModules = ["q_proj", "k_proj", "v_proj", "o_proj"] };
            LoraModel.Apply(model, lora, 1338);
        }
        var rng = new Rng(1379);
        var data = Enumerable.Range(0, 4 * batch)
            .Select(_ => new TrainingExample([rng.NextInt(shape.VocabSize)], Enumerable.Range(0, seqLen - 1).Select(_ => rng.NextInt(shape.VocabSize)).ToArray())).ToList();
        int steps = warmupSteps + timedSteps;
        var options = new TrainerOptions
        {
            Stage = $"bench {config}", MaxSteps = steps + 1, BatchSize = batch, MaxLength = seqLen, LearningRate = 1e-4f,
            Schedule = ScheduleKind.Constant, Shuffle = false, SaveSteps = 0, MaxGradNorm = 0, WeightDecay = 0, Lora = lora,
        };
        string dir = Path.Combine(Path.GetTempPath(), $"distill-bench-engine-{Environment.ProcessId}-{config}");
        if (Directory.Exists(dir)) Directory.Delete(dir, true);
        var times = new double[timedSteps];
        try
        {
            using var trainer = new Trainer(options, new SftObjective(), data, model, dir);
            for (int i = 0; i < warmupSteps; i++) log?.Report($"{config} warm-up step {i}: loss {trainer.Step().Loss:F4}");
            if (OpProfile.Enabled) OpProfile.Clear();
            for (int i = 0; i < timedSteps; i++)
            {
                long t0 = Stopwatch.GetTimestamp();
                float loss = trainer.Step().Loss;
                times[i] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
                log?.Report($"{config} step {i}: {times[i]:F1} ms, loss {loss:F4}");
            }
        }
        finally { if (Directory.Exists(dir)) Directory.Delete(dir, true); }
        if (OpProfile.Enabled) PrintProfile(config, timedSteps);
        Array.Sort(times);
        double median = timedSteps % 2 == 1 ? times[timedSteps / 2] : 0.5 * (times[timedSteps / 2 - 1] + times[timedSteps / 2]);
        return new TrainResult(config, median, batch * seqLen / (median / 1000.0), Machine.PeakRssMb());
    }

    /// <summary>DISTILL_PROFILE=1: per-op forward/backward ms per step on stderr (the optimizer and data are the rest).</summary>
    public static void PrintProfile(string config, int steps)
    {
        var rows = OpProfile.Snapshot();
        Console.Error.WriteLine($"profile {config}, ms per step (forward = time since the previous recorded op):");
        Console.Error.WriteLine($"  {"op",-22} {"forward",9} {"backward",9} {"calls",6}");
        foreach (var (op, f, b, calls) in rows)
            Console.Error.WriteLine($"  {op,-22} {f / steps,9:F1} {b / steps,9:F1} {calls / steps,6}");
        Console.Error.WriteLine($"  {"total",-22} {rows.Sum(r => r.ForwardMs) / steps,9:F1} {rows.Sum(r => r.BackwardMs) / steps,9:F1}");
    }
}
