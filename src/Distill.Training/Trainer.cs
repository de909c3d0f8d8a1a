using System.Diagnostics;
using Distill.Models;
using Distill.Models.Lora;
using Distill.Tensors;
using Distill.Tensors.Autograd;
using Distill.Tensors.Optim;
using Distill.Training.Data;
using Distill.Training.Objectives;

namespace Distill.Training;

/// <summary>
/// The one training loop of Distill. Per optimizer step: the next <c>GradientAccumulation</c> micro-batches of the
/// epoch's <see cref="BatchPlan"/> are prepared by the objective, each runs forward + backward with weight
/// units/step-units (token- or pair-mean over the whole step), then the global gradient norm is taken (and clipped),
/// the LR schedule sets the rate, AdamW steps, one metrics line is appended, and every <c>SaveSteps</c> a
/// checkpoint is written atomically.
/// Determinism: data order is a function of (seed, epoch); the trainer's generator (on-policy draws, sampling
/// seeds) and the LoRA dropout generator are checkpointed; so a resumed run — after a kill -9 at any moment —
/// writes the same metrics.jsonl (wall-clock fields aside) and the same final weights as an uninterrupted one,
/// given the same thread count (the engine's kernels are deterministic for a thread count).
/// The model arrives ready: LoRA applied (or not) by the caller; every trainable parameter is trained.
/// </summary>
public sealed class Trainer(TrainerOptions options, IObjective objective, IReadOnlyList<TrainingExample> dataset, CausalLM model, string outputDir)
{
    public const string MetricsFile = "metrics.jsonl";
    const ulong DropoutSeedSalt = 0xD5A61266F0C9392CUL;

    public TrainerOptions Options => options;
    public string OutputDir => outputDir;

    /// <summary>The final weights' folder name: "adapter" (PEFT) when training LoRA, else "model" (Hugging Face).</summary>
    public string FinalDir => Path.Combine(outputDir, options.Lora is null ? "model" : "adapter");

    /// <summary>Optimizer steps per epoch: ⌈⌈N / batch⌉ / accumulation⌉.</summary>
    public int StepsPerEpoch => (MicroBatchesPerEpoch + options.GradientAccumulation - 1) / options.GradientAccumulation;
    int MicroBatchesPerEpoch => (dataset.Count + options.BatchSize - 1) / options.BatchSize;
    public int TotalSteps => options.MaxSteps > 0 ? options.MaxSteps : options.Epochs * StepsPerEpoch;

    public TrainingResult Run(IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        options.Validate();
        if (dataset.Count == 0) throw new ArgumentException("Trainer: the dataset is empty");
        Directory.CreateDirectory(outputDir);
        foreach (var stale in Directory.GetDirectories(outputDir, Path.GetFileName(FinalDir) + ".tmp-*")) Directory.Delete(stale, recursive: true);
        string metricsPath = Path.Combine(outputDir, MetricsFile);
        var existing = TrainerCheckpoint.Complete(outputDir);
        if (!options.Resume && (existing.Count > 0 || (File.Exists(metricsPath) && new FileInfo(metricsPath).Length > 0)))
            throw new InvalidOperationException($"{outputDir} already holds a training run (metrics.jsonl or checkpoints); pass --resume to continue it, or choose another output folder");

        var context = new TrainingContext(model, dataset, options.MaxLength, options.PadTokenId, outputDir);
        if (objective is PreferenceObjective pref) pref.ReferenceBatchSize = options.BatchSize;
        objective.Initialize(context);

        var parameters = model.Weights.Select(w => w.Parameter)
            .Concat(LoraModel.Branches(model).SelectMany(b => new[] { b.A, b.B })).Where(p => p.Trainable).ToArray();
        if (parameters.Length == 0) throw new InvalidOperationException("Trainer: the model has no trainable parameter (frozen base without a LoRA adapter?)");
        using var optimizer = new AdamW(parameters, options.LearningRate, options.AdamBeta1, options.AdamBeta2, options.AdamEpsilon, options.WeightDecay);
        int total = TotalSteps;
        int warmup = options.WarmupSteps > 0 ? options.WarmupSteps : (int)Math.Ceiling(options.WarmupRatio * total);
        var schedule = new LrSchedule(options.Schedule, options.LearningRate, warmup, total);
        var rng = new Rng(options.Seed);
        var dropoutRng = new Rng(options.Seed ^ DropoutSeedSalt);
        foreach (var b in LoraModel.Branches(model)) b.DropoutRng = dropoutRng;

        int start = 0;
        string? lastCheckpoint = null;
        long metricsBytes = 0;
        if (options.Resume && existing.Count > 0)
        {
            var (step, dir) = existing[^1];
            var state = TrainerCheckpoint.Load(dir, model, options.Lora, optimizer);
            if (state.Objective != objective.Name)
                throw new InvalidOperationException($"{dir}: the checkpoint was written by objective '{state.Objective}', not '{objective.Name}'");
            (start, lastCheckpoint, metricsBytes) = (step, dir, state.MetricsBytes);
            rng.State = state.Rng;
            dropoutRng.State = state.DropoutRng;
            if (!File.Exists(metricsPath) || new FileInfo(metricsPath).Length < metricsBytes)
                throw new InvalidOperationException($"{metricsPath} is shorter than the {metricsBytes} bytes checkpoint {dir} recorded; the run folder was altered");
        }
        using var metrics = new MetricsWriter(metricsPath, metricsBytes);

        optimizer.ZeroGrad();
        LoraModel.SetTraining(model, true);
        using var tape = new Tape();
        var clock = Stopwatch.StartNew();
        progress?.Report(new TrainingProgress(options.Stage, start, total, (double)start / StepsPerEpoch, float.NaN, 0, null));
        float lastLoss = float.NaN;
        int[][]? plan = null;
        int planEpoch = -1;
        try
        {
            for (int step = start; step < total; step++)
            {
                if (cancellationToken.IsCancellationRequested)
                {
                    if (lastCheckpoint != TrainerCheckpoint.PathOf(outputDir, step) && step > start)
                        lastCheckpoint = Save(step, optimizer, rng, dropoutRng, metrics.Length);
                    return new TrainingResult(false, step, total, lastLoss, metricsPath, null, lastCheckpoint, start);
                }
                long t0 = Stopwatch.GetTimestamp();
                int epoch = step / StepsPerEpoch;
                if (epoch != planEpoch)
                {
                    plan = BatchPlan.Epoch(dataset, options.BatchSize, options.Seed, epoch, options.Shuffle, options.GroupByLength);
                    planEpoch = epoch;
                }
                int first = step % StepsPerEpoch * options.GradientAccumulation;
                int count = Math.Min(options.GradientAccumulation, plan!.Length - first);
                var micro = new MicroBatch[count];
                for (int m = 0; m < count; m++) micro[m] = objective.Prepare(plan[first + m], context, rng);
                int units = micro.Sum(m => m.Units);
                double loss = 0;
                var sums = new List<KeyValuePair<string, double>>();
                foreach (var mb in micro)
                {
                    float w = units == 0 ? 0f : (float)mb.Units / units;
                    tape.Reset();
                    var output = objective.Step(tape, mb, w, context);
                    if (!float.IsFinite(output.Loss)) throw new TrainingDivergedException(step + 1, "the loss", lastCheckpoint);
                    loss += w * output.Loss;
                    foreach (var (k, v) in output.Metrics)
                    {
                        int at = sums.FindIndex(x => x.Key == k);
                        if (at < 0) sums.Add(new(k, w * v));
                        else sums[at] = new(k, sums[at].Value + w * v);
                    }
                }
                float gradNorm = GradClip.ClipGlobalNorm(optimizer.Parameters, options.MaxGradNorm > 0 ? options.MaxGradNorm : float.PositiveInfinity);
                if (!float.IsFinite(gradNorm)) throw new TrainingDivergedException(step + 1, "the gradient norm", lastCheckpoint);
                float lr = schedule.At(step);
                optimizer.Lr = lr;
                optimizer.Step();
                optimizer.ZeroGrad();
                lastLoss = (float)loss;

                double seconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;
                int tokens = micro.Sum(m => m.Tokens);
                double epochAt = (double)(step + 1) / StepsPerEpoch;
                metrics.Append(step + 1, epochAt, lastLoss, lr, gradNorm, sums.Select(s => new KeyValuePair<string, float>(s.Key, (float)s.Value)),
                    tokens / Math.Max(seconds, 1e-9), clock.Elapsed.TotalSeconds);
                int done = step + 1 - start;
                var eta = TimeSpan.FromSeconds(clock.Elapsed.TotalSeconds / done * (total - step - 1));
                progress?.Report(new TrainingProgress(options.Stage, step + 1, total, epochAt, lastLoss, tokens / Math.Max(seconds, 1e-9), eta));
                if (step + 1 == total || (options.SaveSteps > 0 && (step + 1) % options.SaveSteps == 0))
                    lastCheckpoint = Save(step + 1, optimizer, rng, dropoutRng, metrics.Length);
            }
        }
        finally { LoraModel.SetTraining(model, false); }

        WriteFinal();
        return new TrainingResult(true, total, total, lastLoss, metricsPath, FinalDir, lastCheckpoint, start);
    }

    string Save(int step, AdamW optimizer, Rng rng, Rng dropoutRng, long metricsBytes)
    {
        int epoch = step / StepsPerEpoch;   // where the next step reads: (epoch, micro-batch)
        int microBatch = step % StepsPerEpoch * options.GradientAccumulation;
        var state = new TrainerCheckpoint.State(step, optimizer.StepCount, epoch, microBatch, metricsBytes, rng.State, dropoutRng.State, objective.Name);
        return TrainerCheckpoint.Save(outputDir, model, options.Lora, optimizer, state, options.SaveTotalLimit);
    }

    /// <summary>The final adapter or model, written to a temporary folder and renamed into place.</summary>
    void WriteFinal()
    {
        string tmp = FinalDir + $".tmp-{Environment.ProcessId}";
        if (Directory.Exists(tmp)) Directory.Delete(tmp, recursive: true);
        TrainerCheckpoint.SaveWeights(model, options.Lora, tmp);
        if (Directory.Exists(FinalDir)) Directory.Delete(FinalDir, recursive: true);
        Directory.Move(tmp, FinalDir);
    }
}
