using System.Text.Json.Nodes;
using Distill.Methods.Training;
using Distill.Models.Lora;
using Distill.Tensors.Kernels.Losses;
using Distill.Training;

namespace Distill.Methods.Runs;

/// <summary>
/// The train stage of a recipe: sft (the data's completions), seqkd (SFT on the teacher-gen answers, Kim &amp; Rush
/// 2016) or token-kd (a local teacher sharing the vocabulary; GKD's λ, Agarwal et al. 2024), through the same
/// <see cref="TrainingSetup"/> as `distill train`. The Trainer writes into the run directory itself: metrics.jsonl,
/// checkpoints/ and adapter/ (or model/ when student.adapter.r = 0). It always resumes from the newest complete
/// checkpoint, so a stage killed mid-training continues where it stopped on `distill run --resume`; the stage
/// returns (and its marker is written) only when training completed.
/// </summary>
public sealed class RecipeTrainStage : ITrainStage
{
    public Task<StageResult> TrainAsync(RunContext ctx, string dataFile, CancellationToken ct) => TrainAsync(ctx, Spec(ctx, dataFile), ct);

    /// <summary>Trains a spec a method adjusted (PERsD's pairs train with a preference loss).</summary>
    public static Task<StageResult> TrainAsync(RunContext ctx, TrainingSpec spec, CancellationToken ct)
    {
        TrainingResult result;
        using (var prepared = TrainingSetup.Prepare(spec))
        {
            var trainer = prepared.Trainer(ctx.Dir.Root);
            long every = ctx.Recipe.Int("train.log_every");
            var progress = RunProgress.Training(ctx.Progress, new SynchronousProgress(p =>
            {
                if (!p.IsStep) { if (p.Step == p.TotalSteps) ctx.Say($"[train] {p.Stage}: {p.TotalSteps} {p.Unit}, {p.TokensPerSecond:F0} tokens/s"); }
                else if (p.Step > 0 && (p.Step % every == 0 || p.Step == p.TotalSteps))
                    ctx.Say($"[train] step {p.Step}/{p.TotalSteps} loss {p.Loss:G5} {p.TokensPerSecond:F0} tokens/s");
            }));
            try { result = trainer.Run(progress, ct); }
            catch (TrainingDivergedException e) { throw new StageFailedException("train", e.Message, e); }
        }
        ct.ThrowIfCancellationRequested();
        if (!result.Completed || result.FinalDir is null)
            throw new StageFailedException("train", $"stopped at step {result.Steps} of {result.TotalSteps}; `distill run --resume` continues from {result.LastCheckpoint ?? "the start"}");
        if (result.ResumedFromStep > 0) ctx.Say($"[train] resumed from step {result.ResumedFromStep}");
        ctx.Say($"[train] {result.Steps} steps, last loss {result.LastLoss:G5} → {Path.GetRelativePath(ctx.Dir.Root, result.FinalDir)}");
        var outputs = Directory.GetFiles(result.FinalDir).Append(result.MetricsPath).ToArray();
        return Task.FromResult(new StageResult(outputs, [], new JsonObject { ["steps"] = result.Steps, ["last_loss"] = result.LastLoss, ["resumed_from_step"] = result.ResumedFromStep }));
    }

    /// <summary>The recipe's train keys as a <see cref="TrainingSpec"/>.</summary>
    public static TrainingSpec Spec(RunContext ctx, string dataFile)
    {
        var r = ctx.Recipe;
        string? teacher = null;
        if (r.Method == TokenKd.TokenKdMethod.MethodName)
        {
            teacher = ModelStage.TeacherReference(ctx);
            if (!File.Exists(Path.Combine(teacher, "config.json")))
                throw new StageFailedException("train", $"token-level KD needs the teacher's logits: teacher '{teacher}' is not a local model folder (no config.json); " +
                    "give teacher.model a Hugging Face folder sharing the student's vocabulary, or teacher.init a preset");
        }
        var student = ModelStage.StudentPath(ctx);
        if (!File.Exists(Path.Combine(student, "config.json")))
            throw new StageFailedException("train", $"student '{student}' is not a model folder (no config.json); give student.model a Hugging Face folder, or student.init a preset");
        int rank = (int)r.Int("student.adapter.r");
        return new TrainingSpec
        {
            Method = RecipeMethods.Find(r.Method)!.TrainingMethod,
            DataFile = dataFile,
            ModelDir = student,
            TeacherDir = teacher,
            SamplingWeights = Preference.PreferenceRecipe.InferenceWeights(r),
            Lora = rank == 0 ? null : new LoraConfig
            {
                R = rank, LoraAlpha = r.Float("student.adapter.alpha"), LoraDropout = r.Float("student.adapter.dropout"),
                TargetModules = [.. r.List("student.adapter.target_modules")],
            },
            Options = new TrainerOptions
            {
                Stage = r.Method, Epochs = (int)r.Int("train.epochs"), MaxSteps = (int)r.Int("train.max_steps"), BatchSize = (int)r.Int("train.batch_size"),
                GradientAccumulation = (int)r.Int("train.grad_accum"), MaxLength = (int)r.Int("train.max_seq_len"), LearningRate = (float)r.Float("train.lr"),
                Schedule = TrainingSetup.Schedule(r.String("train.lr_schedule")), WarmupSteps = (int)r.Int("train.warmup_steps"),
                WeightDecay = (float)r.Float("train.weight_decay"), MaxGradNorm = (float)r.Float("train.max_grad_norm"), Seed = (ulong)r.Int("seed"),
                SaveSteps = (int)r.Int("train.save_every"), Resume = true, PackedWeightsBudget = TrainingSetup.PackedWeightsBudget(r.Int("train.packed_weights_mb")),
            },
            Divergence = new DivergenceOptions(TrainingSetup.Divergence(r.String("train.kd.divergence")), (float)r.Float("train.kd.temperature"),
                (float)r.Float("train.kd.beta"), (float)r.Float("train.kd.skew_alpha")),
            Lambda = r.Float("train.kd.lambda"),
            MaxNewTokens = (int)r.Int("train.kd.max_new_tokens"),
            AppendEos = (bool)r["train.append_eos"]!,
        };
    }

    /// <summary>Reports on the training thread (Progress&lt;T&gt; would post to the thread pool, out of order).</summary>
    sealed class SynchronousProgress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
