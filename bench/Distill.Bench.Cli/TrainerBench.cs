using System.Diagnostics;
using Distill.Models;
using Distill.Models.Lora;
using Distill.Tensors;
using Distill.Tensors.Autograd;
using Distill.Tensors.Kernels;
using Distill.Tensors.Kernels.Losses;
using Distill.Training;
using Distill.Training.Data;
using Distill.Training.Objectives;

namespace Distill.Bench.Cli;

/// <summary>
/// `distill bench train`: the library's <see cref="Trainer"/> — the path every method trains through — on the
/// SmolLM2-135M shape (random weights, fp32), LoRA r 8 (alpha 16) on q,k,v,o, AdamW lr 1e-4, clip 1, constant LR.
/// <list type="bullet">
/// <item>sft, token-kd (issue 13 §4): batch 4 of 256-token sequences (a 32-token prompt + a 224-token completion:
/// 896 loss tokens per step); token-KD is forward KL at τ 1 from a teacher of the same shape (its forward is part of
/// the step).</item>
/// <item>dpo (issue 14 §5): one pair per step, a 256-token prompt with a 128-token chosen and a 128-token rejected
/// answer; the policy runs forward and backward on both, the reference log-probs (adapter off) are scored once before
/// training by <see cref="SequenceScorer"/> and cached, as TRL's precompute_ref_log_probs; sigmoid DPO loss, β 0.1.
/// The prompt is shared (the library's default, <see cref="PreferenceOptions.SharePrompt"/>): one row of 256 + 128 + 128
/// tokens, where PyTorch runs TRL's concatenated 2 × 384; <c>sharePrompt: false</c> runs the 2 × 384 rows too.</item>
/// </list>
/// ms per step = median over the timed <see cref="Trainer.Step"/> calls after the warm-up ones (collation, forward,
/// backward, clipping, AdamW, the metrics line). The run is one step longer than what is stepped, so no timed step
/// writes the end-of-run checkpoint. The PyTorch reference doing the same work is bench/scripts/train_torch.py.
/// DISTILL_PROFILE=1 prints where the timed steps went, per op (forward, backward).
/// </summary>
public static class TrainerBench
{
    public const int LoraR = 8;
    public static readonly string[] Objectives = ["sft", "token-kd", "dpo"];

    /// <summary>Rows × tokens of one step, and the prompt length.</summary>
    public static (int Rows, int SeqLen, int Prompt) Shape(string objective) => objective == "dpo" ? (2, 384, 256) : (4, 256, 32);

    /// <summary>The goal of issue 13 §4 (SFT, token-KD) and issue 14 §5 (DPO): Distill's step this many times faster than PyTorch's.</summary>
    public static double Goal(string objective) => objective == "dpo" ? 2.5 : 2.0;

    /// <param name="GemmGflop">the last timed step's matrix products (<see cref="GemmWork"/>: 2·m·n·k each, the attention's kernels not counted), in 10⁹ operations</param>
    public sealed record Result(string Objective, double MsPerStep, double TokensPerSecond, float LastLoss, int TimedSteps, double[] StepMs, double GemmGflop);

    public static IReadOnlyList<Result> Measure(string[] objectives, int warmupSteps, int timedSteps, IProgress<string>? log = null, bool sharePrompt = true)
    {
        foreach (var name in objectives)
            if (!Objectives.Contains(name)) throw new ArgumentException($"bench train: unknown objective '{name}' (known: {string.Join(", ", Objectives)})");
        return objectives.Select(name => MeasureOne(name, warmupSteps, timedSteps, log, sharePrompt)).ToList();
    }

    static Result MeasureOne(string name, int warmupSteps, int timedSteps, IProgress<string>? log, bool sharePrompt)
    {
        var config = ModelPresets.Get("smollm2-135m") with { TorchDType = "float32" };
        using var student = ModelIO.Create(config);
        ModelInit.Initialize(student, 1);
        var lora = new LoraConfig { R = LoraR, LoraAlpha = 16, TargetModules = ["q_proj", "k_proj", "v_proj", "o_proj"] };
        LoraModel.Apply(student, lora, 2);
        CausalLM? teacher = null;
        IObjective objective;
        switch (name)
        {
            case "sft": objective = new SftObjective(); break;
            case "token-kd":
                teacher = ModelIO.Create(config);
                ModelInit.Initialize(teacher, 3);
                objective = new TokenKdObjective(teacher, new DivergenceOptions(DivergenceKind.ForwardKl));
                break;
            default: objective = new PreferenceObjective(new PreferenceOptions(PreferenceLossKind.Dpo, Beta: 0.1f) { SharePrompt = sharePrompt }); break;
        }
        var (rows, seqLen, prompt) = Shape(name);
        int batch = name == "dpo" ? rows / 2 : rows;
        int steps = warmupSteps + timedSteps;
        var rng = new Rng(4);
        var data = Enumerable.Range(0, (steps + 1) * batch).Select(_ => name == "dpo"
            ? new TrainingExample(Ids(rng, prompt, config.VocabSize), Ids(rng, seqLen - prompt, config.VocabSize)) { Rejected = Ids(rng, seqLen - prompt, config.VocabSize) }
            : new TrainingExample(Ids(rng, prompt, config.VocabSize), Ids(rng, seqLen - prompt, config.VocabSize))).ToList();
        var options = new TrainerOptions
        {
            Stage = $"bench {name}", MaxSteps = steps + 1, BatchSize = batch, MaxLength = seqLen, LearningRate = 1e-4f, Shuffle = false,
            SaveSteps = 0, Lora = lora, Schedule = Tensors.Optim.ScheduleKind.Constant, MaxGradNorm = 1f,
        };
        string dir = Path.Combine(Path.GetTempPath(), $"distill-bench-train-{Environment.ProcessId}-{name}");
        if (Directory.Exists(dir)) Directory.Delete(dir, true);
        var ms = new List<double>();
        float lastLoss = float.NaN;
        double gemmGflop = 0;
        try
        {
            using var trainer = new Trainer(options, objective, data, student, dir);
            for (int s = 0; s < steps; s++)
            {
                var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
                bool count = s == steps - 1; // the last step's products, counted (a static branch per product when off)
                if (count) { GemmWork.Reset(); GemmWork.Counting = true; }
                long t0 = Stopwatch.GetTimestamp();
                var report = trainer.Step();   // the first call also starts the run (and, for DPO, scores the reference)
                double elapsed = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
                if (count) { GemmWork.Counting = false; gemmGflop = GemmWork.Flops / 1e9; }
                // CPU time of the process over the step (all threads, spin-waits included): on a shared machine it moves
                // far less with the other processes' load than the wall clock does
                double cpuMs = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalMilliseconds;
                if (s == 0) elapsed = report.Seconds * 1000;   // the step alone, without the run's start-up
                if (s >= warmupSteps) ms.Add(elapsed);
                if (s == warmupSteps - 1 && OpProfile.Enabled) OpProfile.Clear();
                lastLoss = report.Loss;
                log?.Report($"{name} step {s}{(s < warmupSteps ? " (warm-up)" : "")}: {elapsed:F0} ms (CPU {cpuMs:F0} ms), loss {report.Loss:F4}");
            }
        }
        finally
        {
            (objective as IDisposable)?.Dispose();
            teacher?.Dispose();
            if (Directory.Exists(dir)) Directory.Delete(dir, true);
        }
        if (OpProfile.Enabled) EngineTrainBench.PrintProfile($"train {name}", timedSteps);
        var sorted = ms.Order().ToArray();
        double median = sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : 0.5 * (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]);
        return new Result(name, median, rows * seqLen / (median / 1000), lastLoss, sorted.Length, [.. ms], gemmGflop);
    }

    static int[] Ids(Rng rng, int n, int vocab) => Enumerable.Range(0, n).Select(_ => rng.NextInt(vocab)).ToArray();
}
