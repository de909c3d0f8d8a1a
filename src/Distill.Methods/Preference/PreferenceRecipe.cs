using Distill.Models;
using Distill.Methods.Preference;
using Distill.Methods.Runs;
using Distill.Models.Lora;
using Distill.Training;
using Distill.Training.Objectives;

namespace Distill.Methods.Preference;

/// <summary>The recipe keys of the preference methods (sampling.*, preference.*, train.*, student.adapter.*) as library options.</summary>
public static class PreferenceRecipe
{
    public static SamplingSettings Sampling(Recipe r) => new(
        (int)r.Int("sampling.n"), (float)r.Float("sampling.temperature"), (float)r.Float("sampling.top_p"), (int)r.Int("sampling.top_k"),
        (int)r.Int("sampling.max_new_tokens"), (ulong)r.Int("seed"));

    public static PreferenceOptions Loss(Recipe r, PreferenceLossKind auto)
    {
        var kind = r.String("preference.loss") switch
        {
            "auto" => auto, "dpo" => PreferenceLossKind.Dpo, "ipo" => PreferenceLossKind.Ipo, "hinge" => PreferenceLossKind.Hinge,
            "plad-rank" => PreferenceLossKind.PladRank, _ => PreferenceLossKind.PladMargin,
        };
        return new PreferenceOptions(kind, (float)r.Float("preference.beta"), (float)r.Float("preference.label_smoothing"), Delta: (float)r.Float("preference.delta"))
        {
            Temperature = (float)r.Float("preference.temperature"),
            LengthNormalization = r.String("preference.length_normalization") switch { "on" => true, "off" => false, _ => null },
            SftWeight = (float)r.Float("preference.sft_weight"),
            SharePrompt = (bool)r["preference.share_prompt"]!,
        };
    }

    public static LoraConfig? Lora(Recipe r)
    {
        int rank = (int)r.Int("student.adapter.r");
        return rank == 0 ? null : new LoraConfig
        {
            R = rank, LoraAlpha = r.Float("student.adapter.alpha"), LoraDropout = r.Float("student.adapter.dropout"),
            TargetModules = [.. r.List("student.adapter.target_modules")],
        };
    }

    public static bool QLora(Recipe r) => (bool)r["student.adapter.qlora"]!;

    /// <summary>
    /// student.inference_weights: the weights the student samples with (docs/models.md, "8-bit inference weights"). "auto" (the
    /// default) is f32packed — the frozen base packed once into the GEMM's panels, the same f32 arithmetic as f32 — when a LoRA
    /// adapter sits on a float base, and f32 otherwise: a QLoRA base would gain a 4-byte copy of what NF4 keeps in ~0.5, and
    /// a base trained whole has nothing frozen to pack.
    /// </summary>
    public static InferenceWeights InferenceWeights(Recipe r)
    {
        var name = r.String("student.inference_weights");
        if (name != "auto") return InferenceWeightsNames.Parse(name);
        return r.Int("student.adapter.r") > 0 && !QLora(r) ? global::Distill.Models.InferenceWeights.F32Packed : global::Distill.Models.InferenceWeights.F32;
    }

    public static TrainerOptions Trainer(Recipe r) => new()
    {
        Epochs = (int)r.Int("train.epochs"), MaxSteps = (int)r.Int("train.max_steps"), BatchSize = (int)r.Int("train.batch_size"),
        GradientAccumulation = (int)r.Int("train.grad_accum"), MaxLength = (int)r.Int("train.max_seq_len"), LearningRate = (float)r.Float("train.lr"),
        Schedule = Training.TrainingSetup.Schedule(r.String("train.lr_schedule")), WarmupSteps = (int)r.Int("train.warmup_steps"),
        WeightDecay = (float)r.Float("train.weight_decay"), MaxGradNorm = (float)r.Float("train.max_grad_norm"), Seed = (ulong)r.Int("seed"),
        SaveSteps = (int)r.Int("train.save_every"), Resume = true, PackedWeightsBudget = Training.TrainingSetup.PackedWeightsBudget(r.Int("train.packed_weights_mb")),
    };

    /// <summary>A console line every train.log_every steps, on the training thread.</summary>
    public static IProgress<TrainingProgress> Progress(RunContext ctx, string tag)
    {
        long every = Math.Max(1, ctx.Recipe.Int("train.log_every"));
        return Runs.RunProgress.Training(ctx.Progress, new SyncProgress(p =>
        {
            if (!p.IsStep) { if (p.Step == p.TotalSteps) ctx.Say($"[{tag}] {p.Stage}: {p.TotalSteps} {p.Unit}"); }   // the DPO reference, before the steps
            else if (p.Step > 0 && (p.Step % every == 0 || p.Step == p.TotalSteps))
                ctx.Say($"[{tag}] {p.Stage} step {p.Step}/{p.TotalSteps} loss {p.Loss:G5}");
        }))!;
    }

    sealed class SyncProgress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
