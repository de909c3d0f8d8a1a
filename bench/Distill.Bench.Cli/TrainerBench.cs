using System.Diagnostics;
using Distill.Models;
using Distill.Models.Lora;
using Distill.Tensors;
using Distill.Tensors.Kernels.Losses;
using Distill.Training;
using Distill.Training.Data;
using Distill.Training.Objectives;

namespace Distill.Bench.Cli;

/// <summary>
/// `distill bench train`: the library's <see cref="Trainer"/> on the SmolLM2-135M shape (random weights), LoRA r 8
/// (alpha 16) on q,k,v,o, batch 4 of 256-token sequences (a 32-token prompt + a 224-token completion: 896 loss
/// tokens per step), AdamW, clip 1. Objectives: SFT, and token-level KD (forward KL, τ 1) from a teacher of the
/// same shape. ms per step = median of the timed steps (time between the trainer's per-step progress events: data
/// collation, forward, backward, clipping, AdamW and the metrics line; no checkpoint). The PyTorch reference doing
/// the same work is bench/scripts/train_torch.py.
/// </summary>
public static class TrainerBench
{
    public const int Batch = 4, SeqLen = 256, Prompt = 32, LoraR = 8;

    public sealed record Result(string Objective, double MsPerStep, double TokensPerSecond, float LastLoss, int TimedSteps);

    public static IReadOnlyList<Result> Measure(string[] objectives, int warmupSteps, int timedSteps, IProgress<string>? log = null)
    {
        var config = ModelPresets.Get("smollm2-135m") with { TorchDType = "float32" };
        var results = new List<Result>();
        foreach (var name in objectives)
        {
            using var student = ModelIO.Create(config);
            ModelInit.Initialize(student, 1);
            var lora = new LoraConfig { R = LoraR, LoraAlpha = 16, TargetModules = ["q_proj", "k_proj", "v_proj", "o_proj"] };
            LoraModel.Apply(student, lora, 2);
            CausalLM? teacher = null;
            IObjective objective;
            if (name == "sft") objective = new SftObjective();
            else if (name == "token-kd")
            {
                teacher = ModelIO.Create(config);
                ModelInit.Initialize(teacher, 3);
                objective = new TokenKdObjective(teacher, new DivergenceOptions(DivergenceKind.ForwardKl));
            }
            else throw new ArgumentException($"bench train: unknown objective '{name}' (sft, token-kd)");
            try
            {
                int steps = warmupSteps + timedSteps;
                var rng = new Rng(4);
                var data = Enumerable.Range(0, steps * Batch).Select(_ => new TrainingExample(Ids(rng, Prompt, config.VocabSize), Ids(rng, SeqLen - Prompt, config.VocabSize))).ToList();
                var options = new TrainerOptions
                {
                    Stage = $"bench {name}", MaxSteps = steps, BatchSize = Batch, MaxLength = SeqLen, LearningRate = 1e-4f, Shuffle = false,
                    SaveSteps = 0, Lora = lora, Schedule = Tensors.Optim.ScheduleKind.Constant,
                };
                string dir = Path.Combine(Path.GetTempPath(), $"distill-bench-train-{Environment.ProcessId}-{name}");
                if (Directory.Exists(dir)) Directory.Delete(dir, true);
                var timer = new StepTimer(name, log);
                try { new Trainer(options, objective, data, student, dir).Run(timer); }
                finally { if (Directory.Exists(dir)) Directory.Delete(dir, true); }
                var timed = timer.Seconds.Skip(warmupSteps).Order().ToArray();
                double median = timed.Length % 2 == 1 ? timed[timed.Length / 2] : 0.5 * (timed[timed.Length / 2 - 1] + timed[timed.Length / 2]);
                results.Add(new Result(name, median * 1000, Batch * SeqLen / median, timer.LastLoss, timed.Length));
            }
            finally
            {
                (objective as IDisposable)?.Dispose();
                teacher?.Dispose();
            }
        }
        return results;
    }

    static int[] Ids(Rng rng, int n, int vocab) => Enumerable.Range(0, n).Select(_ => rng.NextInt(vocab)).ToArray();

    sealed class StepTimer(string name, IProgress<string>? log) : IProgress<TrainingProgress>
    {
        long _last = Stopwatch.GetTimestamp();
        public List<double> Seconds { get; } = [];
        public float LastLoss { get; private set; }

        public void Report(TrainingProgress p)
        {
            long now = Stopwatch.GetTimestamp();
            if (p.Step > 0)
            {
                Seconds.Add(Stopwatch.GetElapsedTime(_last, now).TotalSeconds);
                LastLoss = p.Loss;
                log?.Report($"{name} step {p.Step}: {Seconds[^1] * 1000:F0} ms, loss {p.Loss:F4}");
            }
            _last = now;
        }
    }
}
