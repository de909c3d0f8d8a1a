using System.Diagnostics;
using Distill.Bench.Models;
using Distill.Tensors;
using Distill.Tensors.Autograd;
using Distill.Tensors.Autograd.Ops;
using Distill.Tensors.Optim;

namespace Distill.Bench;

/// <summary>
/// One training step (forward + cross-entropy + backward + AdamW) on the configs that
/// bench/reference/torch_baseline.py measures in PyTorch: AdamW lr 1e-4, betas 0.9/0.999, eps 1e-8,
/// weight decay 0, mean CE over all B·T positions, 4 fixed random batches cycled.
/// Reports the median step time of the timed steps, tokens/s = B·T / median, and peak RSS (VmHWM).
/// </summary>
public static class TrainStepBench
{
    public static IReadOnlyList<string> Configs { get; } = ["bench-small", "bench-small-llama", "bench-small-lora", "gpt2-124M"];

    public static TrainResult Measure(string config, int warmupSteps, int timedSteps, IProgress<string>? log = null)
    {
        if (warmupSteps < 0 || timedSteps < 1) throw new ArgumentException($"TrainStepBench: warmup {warmupSteps} ≥ 0 and timed steps {timedSteps} ≥ 1 required");
        var cfg = TransformerConfig.Named(config);
        using var trainer = new Trainer(cfg, seed: 1337);
        for (int i = 0; i < warmupSteps; i++)
        {
            float loss = trainer.Step(i);
            log?.Report($"{config} warm-up step {i}: loss {loss:F4}");
        }
        if (OpProfile.Enabled) OpProfile.Clear();
        var times = new double[timedSteps];
        for (int i = 0; i < timedSteps; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            float loss = trainer.Step(warmupSteps + i);
            times[i] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
            log?.Report($"{config} step {i}: {times[i]:F1} ms, loss {loss:F4}");
        }
        if (OpProfile.Enabled) PrintProfile(config, timedSteps);
        Array.Sort(times);
        double median = timedSteps % 2 == 1 ? times[timedSteps / 2] : 0.5 * (times[timedSteps / 2 - 1] + times[timedSteps / 2]);
        return new TrainResult(config, median, cfg.Batch * cfg.SeqLen / (median / 1000.0), PeakRssMb());
    }

    /// <summary>VmHWM from /proc/self/status (peak resident set), in MiB; NaN where /proc is absent.</summary>
    /// <summary>DISTILL_PROFILE=1: per-op forward/backward ms per step on stderr (the optimizer and loss seed are the rest).</summary>
    static void PrintProfile(string config, int steps)
    {
        var rows = OpProfile.Snapshot();
        Console.Error.WriteLine($"profile {config}, ms per step (forward = time since the previous recorded op):");
        Console.Error.WriteLine($"  {"op",-22} {"forward",9} {"backward",9} {"calls",6}");
        foreach (var (op, f, b, calls) in rows)
            Console.Error.WriteLine($"  {op,-22} {f / steps,9:F1} {b / steps,9:F1} {calls / steps,6}");
        Console.Error.WriteLine($"  {"total",-22} {rows.Sum(r => r.ForwardMs) / steps,9:F1} {rows.Sum(r => r.BackwardMs) / steps,9:F1}");
    }

    public static double PeakRssMb()
    {
        const string path = "/proc/self/status";
        if (!File.Exists(path)) return double.NaN;
        foreach (var line in File.ReadLines(path))
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024.0;
        return double.NaN;
    }

    /// <summary>Model, optimizer, tape and batches of one benchmark run; Step allocates nothing once warm.</summary>
    public sealed class Trainer : IDisposable
    {
        public TinyTransformer Model { get; }
        public AdamW Optimizer { get; }
        public Tape Tape { get; } = new();
        readonly int[][] _inputs, _targets;
        readonly TransformerConfig _cfg;

        public Trainer(TransformerConfig cfg, ulong seed, float lr = 1e-4f)
        {
            _cfg = cfg;
            var rng = new Rng(seed);
            Model = new TinyTransformer(cfg, rng);
            Optimizer = new AdamW(Model.Parameters, lr, 0.9f, 0.999f, 1e-8f, weightDecay: 0f);
            var data = new Rng(seed + 42);
            int n = cfg.Batch * cfg.SeqLen;
            _inputs = new int[4][];
            _targets = new int[4][];
            for (int b = 0; b < 4; b++)
            {
                _inputs[b] = new int[n];
                _targets[b] = new int[n];
                for (int s = 0; s < cfg.Batch; s++)
                {
                    int prev = data.NextInt(cfg.Vocab);
                    for (int t = 0; t < cfg.SeqLen; t++)
                    {
                        int next = data.NextInt(cfg.Vocab);
                        _inputs[b][s * cfg.SeqLen + t] = prev;
                        _targets[b][s * cfg.SeqLen + t] = next;
                        prev = next;
                    }
                }
            }
        }

        /// <summary>Forward + CE + backward (dlogits written over the logits) + AdamW + zero-grad; returns the loss.</summary>
        public float Step(int i)
        {
            Tape.Reset();
            var logits = Model.Forward(Tape, _inputs[i % 4], _cfg.Batch, _cfg.SeqLen);
            var loss = CrossEntropy.Forward(Tape, logits, _targets[i % 4], overwriteLogits: true);
            float value = loss[0];
            Tape.Backward(loss);
            long t0 = OpProfile.Enabled ? Stopwatch.GetTimestamp() : 0;
            Optimizer.Step();
            Optimizer.ZeroGrad();
            if (OpProfile.Enabled) OpProfile.AddTime("AdamW+ZeroGrad", Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
            return value;
        }

        public void Dispose()
        {
            Tape.Dispose();
            Optimizer.Dispose();
            Model.Dispose();
        }
    }
}
