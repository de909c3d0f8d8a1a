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
public sealed class Trainer(TrainerOptions options, IObjective objective, IReadOnlyList<TrainingExample> dataset, CausalLM model, string outputDir) : IDisposable
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

    /// <summary>
    /// Trains to the last step (or until cancelled: a checkpoint is written at the step boundary) and writes the final
    /// adapter or model. A run already started with <see cref="Step"/> continues from where it is.
    /// </summary>
    public TrainingResult Run(IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        try
        {
            var s = Begin(progress);
            while (s.Step < s.Total)
            {
                if (cancellationToken.IsCancellationRequested)
                {
                    if (s.LastCheckpoint != TrainerCheckpoint.PathOf(outputDir, s.Step) && s.Step > s.Start)
                        s.LastCheckpoint = Save(s.Step, s.Optimizer, s.Rng, s.DropoutRng, s.Metrics.Length);
                    return new TrainingResult(false, s.Step, s.Total, s.LastLoss, s.MetricsPath, null, s.LastCheckpoint, s.Start);
                }
                RunStep(s, progress);
            }
            End();
            WriteFinal();
            return new TrainingResult(true, s.Total, s.Total, s.LastLoss, s.MetricsPath, FinalDir, s.LastCheckpoint, s.Start);
        }
        finally { End(); }
    }

    /// <summary>
    /// One optimizer step, exactly as <see cref="Run"/> takes it (the first call starts or resumes the run): data,
    /// forward, backward, clipping, AdamW, the metrics line, and the checkpoint when one is due. The final adapter is
    /// written by <see cref="Run"/> only. Benchmarks time this after warm-up steps; call <see cref="Dispose"/> when done.
    /// </summary>
    public StepReport Step()
    {
        var s = _session ?? Begin(null);
        if (s.Step >= s.Total) throw new InvalidOperationException($"Trainer: all {s.Total} steps are done");
        try { return RunStep(s, null); }
        catch { End(); throw; }
    }

    /// <summary>Native memory reserved by the step tape's arena of a started run (0 before): flat once the first steps have
    /// sized it, whatever the number of steps (the memory test watches it).</summary>
    public long TapeBytes => _session?.Tape.Arena.ReservedBytes ?? 0;

    /// <summary>Releases the optimizer, the tape and the metrics file of a run started with <see cref="Step"/>.</summary>
    public void Dispose() => End();

    Session? _session;

    /// <summary>The state of a started run: what <see cref="Run"/> once held in locals.</summary>
    sealed class Session(AdamW optimizer, LrSchedule schedule, Rng rng, Rng dropoutRng, MetricsWriter metrics, TrainingContext context, string metricsPath, int start, int total) : IDisposable
    {
        public AdamW Optimizer => optimizer;
        public LrSchedule Schedule => schedule;
        public Rng Rng => rng;
        public Rng DropoutRng => dropoutRng;
        public MetricsWriter Metrics => metrics;
        public TrainingContext Context => context;
        public string MetricsPath => metricsPath;
        public int Start { get; } = start;
        public int Total => total;
        public Tape Tape { get; } = new();
        public Stopwatch Clock { get; } = Stopwatch.StartNew();
        public int Step { get; set; } = start;
        public string? LastCheckpoint { get; set; }
        public float LastLoss { get; set; } = float.NaN;
        public int[][]? Plan { get; set; }
        public int PlanEpoch { get; set; } = -1;

        public void Dispose()
        {
            Tape.Dispose();
            metrics.Dispose();
            optimizer.Dispose();
        }
    }

    Session Begin(IProgress<TrainingProgress>? progress)
    {
        if (_session is not null) return _session;
        options.Validate();
        if (dataset.Count == 0) throw new ArgumentException("Trainer: the dataset is empty");
        Directory.CreateDirectory(outputDir);
        foreach (var stale in Directory.GetDirectories(outputDir, Path.GetFileName(FinalDir) + ".tmp-*")) Directory.Delete(stale, recursive: true);
        string metricsPath = Path.Combine(outputDir, MetricsFile);
        var existing = TrainerCheckpoint.Complete(outputDir);
        if (!options.Resume && (existing.Count > 0 || (File.Exists(metricsPath) && new FileInfo(metricsPath).Length > 0)))
            throw new InvalidOperationException($"{outputDir} already holds a training run (metrics.jsonl or checkpoints); pass --resume to continue it, or choose another output folder");

        var context = new TrainingContext(model, dataset, options.MaxLength, options.PadTokenId, outputDir) { Stage = options.Stage, Progress = progress };
        if (objective is PreferenceObjective pref) pref.ReferenceBatchSize = options.BatchSize;
        PackWeights(model, forwardOnly: false);   // before Initialize: the DPO reference pass reads them too
        try
        {
            objective.Initialize(context);
            foreach (var m in objective.FrozenModels) PackWeights(m, forwardOnly: true);
        }
        catch { UnpackWeights(); throw; }

        var parameters = model.Weights.Select(w => w.Parameter)
            .Concat(LoraModel.Branches(model).SelectMany(b => new[] { b.A, b.B })).Where(p => p.Trainable).ToArray();
        if (parameters.Length == 0) throw new InvalidOperationException("Trainer: the model has no trainable parameter (frozen base without a LoRA adapter?)");
        var optimizer = new AdamW(parameters, options.LearningRate, options.AdamBeta1, options.AdamBeta2, options.AdamEpsilon, options.WeightDecay);
        try
        {
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
            var metrics = new MetricsWriter(metricsPath, metricsBytes);
            optimizer.ZeroGrad();
            LoraModel.SetTraining(model, true);
            _session = new Session(optimizer, schedule, rng, dropoutRng, metrics, context, metricsPath, start, total) { LastCheckpoint = lastCheckpoint };
        }
        catch
        {
            optimizer.Dispose();
            UnpackWeights();
            throw;
        }
        progress?.Report(new TrainingProgress(options.Stage, _session.Start, _session.Total, (double)_session.Start / StepsPerEpoch, float.NaN, 0, null));
        return _session;
    }

    /// <summary>What <see cref="PackWeights"/> packed for this run (null: nothing).</summary>
    public PackedWeightsReport? PackedWeights { get; private set; }

    /// <summary>
    /// The frozen weights packed once for the run's GEMMs (the model's both ways, a teacher's forward-only), within the
    /// options' budget: every step then reads W's panels instead of re-packing W at each product (DPO on the
    /// SmolLM2-135M shape: −2 % per step, docs/performance.md Session 14). The same numbers either way.
    /// </summary>
    void PackWeights(CausalLM m, bool forwardOnly)
    {
        long budget = options.ResolvedPackedWeightsBudget - (PackedWeights?.Bytes ?? 0);
        if (budget <= 0) return;
        var r = m.PackFrozenWeights(budget, forwardOnly);
        PackedWeights = PackedWeights is { } p ? new PackedWeightsReport(p.Packed + r.Packed, p.Bytes + r.Bytes, p.Skipped + r.Skipped) : r;
    }

    void UnpackWeights()
    {
        if (PackedWeights is null) return;
        model.UnpackFrozenWeights();
        foreach (var m in objective.FrozenModels) m.UnpackFrozenWeights();
        PackedWeights = null;
    }

    void End()
    {
        UnpackWeights();
        if (_session is null) return;
        LoraModel.SetTraining(model, false);
        _session.Dispose();
        _session = null;
    }

    StepReport RunStep(Session s, IProgress<TrainingProgress>? progress)
    {
        int step = s.Step;
        long t0 = Stopwatch.GetTimestamp();
        int epoch = step / StepsPerEpoch;
        if (epoch != s.PlanEpoch)
        {
            s.Plan = BatchPlan.Epoch(dataset, options.BatchSize, options.Seed, epoch, options.Shuffle, options.GroupByLength);
            s.PlanEpoch = epoch;
        }
        int first = step % StepsPerEpoch * options.GradientAccumulation;
        int count = Math.Min(options.GradientAccumulation, s.Plan!.Length - first);
        var micro = new MicroBatch[count];
        for (int m = 0; m < count; m++) micro[m] = objective.Prepare(s.Plan[first + m], s.Context, s.Rng);
        int units = micro.Sum(m => m.Units);
        double loss = 0;
        var sums = new List<KeyValuePair<string, double>>();
        foreach (var mb in micro)
        {
            float w = units == 0 ? 0f : (float)mb.Units / units;
            s.Tape.Reset();
            var output = objective.Step(s.Tape, mb, w, s.Context);
            if (!float.IsFinite(output.Loss)) throw new TrainingDivergedException(step + 1, "the loss", s.LastCheckpoint);
            loss += w * output.Loss;
            foreach (var (k, v) in output.Metrics)
            {
                int at = sums.FindIndex(x => x.Key == k);
                if (at < 0) sums.Add(new(k, w * v));
                else sums[at] = new(k, sums[at].Value + w * v);
            }
        }
        float gradNorm = GradClip.ClipGlobalNorm(s.Optimizer.Parameters, options.MaxGradNorm > 0 ? options.MaxGradNorm : float.PositiveInfinity);
        if (!float.IsFinite(gradNorm)) throw new TrainingDivergedException(step + 1, "the gradient norm", s.LastCheckpoint);
        float lr = s.Schedule.At(step);
        s.Optimizer.Lr = lr;
        s.Optimizer.Step();
        s.Optimizer.ZeroGrad();
        s.LastLoss = (float)loss;

        double seconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        int tokens = micro.Sum(m => m.Tokens);
        double epochAt = (double)(step + 1) / StepsPerEpoch;
        var objectiveMetrics = sums.Select(x => new KeyValuePair<string, float>(x.Key, (float)x.Value)).ToArray();
        s.Metrics.Append(step + 1, epochAt, s.LastLoss, lr, gradNorm, objectiveMetrics, tokens / Math.Max(seconds, 1e-9), s.Clock.Elapsed.TotalSeconds);
        s.Step = step + 1;
        if (progress is not null)
        {
            int done = s.Step - s.Start;
            var eta = TimeSpan.FromSeconds(s.Clock.Elapsed.TotalSeconds / done * (s.Total - s.Step));
            progress.Report(new TrainingProgress(options.Stage, s.Step, s.Total, epochAt, s.LastLoss, tokens / Math.Max(seconds, 1e-9), eta));
        }
        if (s.Step == s.Total || (options.SaveSteps > 0 && s.Step % options.SaveSteps == 0))
            s.LastCheckpoint = Save(s.Step, s.Optimizer, s.Rng, s.DropoutRng, s.Metrics.Length);
        return new StepReport(s.Step, s.LastLoss, lr, gradNorm, tokens, seconds, objectiveMetrics);
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
