using System.Text.Json.Nodes;
using Distill.Data.Jsonl;
using Distill.Evaluation.Scoring;
using Distill.Methods.Preference;
using Distill.Methods.Runs;
using Distill.Methods.Scoring;
using Distill.Training;
using Distill.Training.Objectives;
using Microsoft.Extensions.AI;

namespace Distill.Methods.Plad;

/// <summary>
/// PLaD as the recipe method `plad` (plad.txt §4–5): stages data, [models], plad. With a local teacher (teacher.model
/// a folder, or teacher.init) both models are fine-tuned on the labelled half and sampled by the engine; with an API
/// teacher, <see cref="TeacherGenerationStage"/> answers the prompts first (cached; its own marker stages/teacher-gen.json books
/// what the teacher cost) and the teacher is not fine-tuned.
/// </summary>
public sealed class PladMethod : IRecipeMethod
{
    public string Name => "plad";
    public string TrainingMethod => "plad-rank";
    public bool NeedsTeacher => true;

    public IReadOnlyList<IStage> Stages(RunDirectory dir, ITrainStage trainer, Func<RunContext, IChatClient>? teacher) => [new PladStage(teacher)];
}

/// <summary>The `plad` stage: <see cref="PladPipeline"/> over the run directory (split.json, sft-*/, pairs.jsonl, distill/, adapter/).</summary>
public sealed class PladStage(Func<RunContext, IChatClient>? teacherFactory = null) : IStage
{
    public string Name => "plad";

    public async Task<StageResult> RunAsync(RunContext ctx, CancellationToken ct)
    {
        var r = ctx.Recipe;
        var records = JsonlReader.Read(ctx.Dir.DataFile(DataStage.Output)).Select((x, i) =>
            new PladRecord(i, x.RequireString("prompt", DataStage.Output), x.Json["completion"] is { } c ? (string?)c : null)).ToList();
        var teacherRef = ModelStage.TeacherReference(ctx);
        bool local = File.Exists(Path.Combine(teacherRef, "config.json"));
        IReadOnlyDictionary<int, Answer?>? answers = null;
        if (!local)
        {
            // An API teacher: its answers through the cached, retried, costed teacher-gen path (all prompts; the distillation
            // half is used), run as a stage of its own so that its marker (stages/teacher-gen.json) books the requests, tokens
            // and cost that reached the teacher, as SeqKD's and DPO-KD's do; the plad marker books none (the run's cost is the sum).
            var gen = new TeacherGenerationStage(teacherFactory);
            if (!StageRunner.IsComplete(ctx.Dir.Marker(gen.Name)) || !File.Exists(ctx.Dir.DataFile(TeacherGenerationStage.Output)))
                await StageRunner.RunAsync(ctx with { Progress = RunProgress.Nested(ctx.Progress) }, [gen], resume: false, ct).ConfigureAwait(false);
            answers = JsonlReader.Read(ctx.Dir.DataFile(TeacherGenerationStage.Output)).Select((x, i) => (i, x.Json))
                .ToDictionary(t => t.i, t => t.Json["completion"] is { } c ? (Answer?)new Answer((string)c!, teacherRef, DpoKd.DpoKdStage.Truncated(t.Json)) : null);
        }
        int sftEpochs = (int)r.Int("plad.sft_epochs");
        var trainer = PreferenceRecipe.Trainer(r);
        // student.adapter.r 0: every weight trained (the calibration losses need no reference model; PladOptions.Lora)
        var lora = PreferenceRecipe.Lora(r);
        var options = new PladOptions
        {
            Loss = PreferenceRecipe.Loss(r, PreferenceLossKind.PladRank),
            StudentSampling = PreferenceRecipe.Sampling(r),
            TeacherSampling = new SamplingSettings(1, (float)r.Float("teacher.temperature"), 1f, 0, (int)r.Int("teacher.max_tokens"), (ulong)r.Int("seed") + 1),
            Sft = trainer with { Epochs = Math.Max(1, sftEpochs), MaxSteps = 0 },
            Distill = trainer,
            Lora = lora, QLora = PreferenceRecipe.QLora(r), SamplingWeights = PreferenceRecipe.InferenceWeights(r),
            SftStudent = sftEpochs > 0, SftTeacher = sftEpochs > 0,
            DistillFraction = r.Float("plad.distill_fraction"), RelabelFraction = r.Float("plad.relabel_fraction"),
            DropTruncated = (bool)r["preference.drop_truncated"]!, Seed = (ulong)r.Int("seed"),
        };
        using var reward = r.String("plad.scorer") == "reward" ? LocalRewardModel.Load(r.String("plad.reward_model")) : null;
        IScorer? scorer = r.String("plad.scorer") switch
        {
            "none" => null,
            "reward" => new RewardModelScorer(reward!),
            var v => new RougeReferenceScorer(useStemmer: true, variant: v),
        };
        var pipeline = new PladPipeline(options, ModelStage.StudentPath(ctx), ctx.Dir.Root);
        PladResult result;
        try { result = await pipeline.RunAsync(records, local ? teacherRef : null, answers, scorer, null, new SayWriter(ctx), PreferenceRecipe.Progress(ctx, Name), ct).ConfigureAwait(false); }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException) { throw new StageFailedException(Name, e.Message, e); }
        ct.ThrowIfCancellationRequested();
        if (!result.Completed) throw new StageFailedException(Name, "stopped before training finished; `distill run --resume` continues it");
        var details = new JsonObject { ["labelled"] = result.Labelled, ["distill"] = result.Distill, ["pairs"] = result.Pairs?.ToJson() };
        var outputs = Directory.GetFiles(result.FinalDir!).Append(pipeline.PairsPath).Append(Path.Combine(pipeline.DistillDir, Trainer.MetricsFile)).ToArray();
        return new StageResult(outputs, [], details);
    }
}
