using Distill.Methods.Runs;
using Distill.Methods.Sft;
using Distill.Methods.Training;
using Distill.Training;
using Distill.Training.Objectives;
using Microsoft.Extensions.AI;

namespace Distill.Methods.Persd;

/// <summary>
/// PERsD as a recipe (method: persd; docs/methods-persd.md). Stages after data (and models):
/// persd-data (the loop on persd.train_source), seqkd-data (the SeqKD side of the cost table, when
/// persd.seqkd_baseline), train (SFT on the persd.variant records, or a preference loss on the
/// refinement ≻ attempt pairs), persd-eval (multi-step inference on persd.eval_source, hidden tests only).
/// </summary>
public sealed class PersdMethod : IRecipeMethod
{
    public const string MethodName = "persd";
    public string Name => MethodName;
    public string TrainingMethod => SftMethod.MethodName;
    public bool NeedsTeacher => true;

    public IReadOnlyList<IStage> Stages(RunDirectory dir, ITrainStage trainer, Func<RunContext, IChatClient>? teacher)
        => [new PersdDataStage(teacher), new SeqKdBaselineStage(teacher), new PersdTrainStage(trainer), new PersdEvalStage(PersdRun.Trained)];

    /// <summary>Recipe checks that need no file: the sources are on their side of the wall, the counts make sense.</summary>
    public static void Validate(Recipe r, Action<string, string> fail)
    {
        foreach (var (key, split) in new[] { ("persd.train_source", PersdSplit.Train), ("persd.eval_source", PersdSplit.Test) })
        {
            try { _ = PersdTasks.SplitOf(r.String(key)) == split ? 0 : throw new ArgumentException(split == PersdSplit.Train ? "is a scoring set: PERsD never trains on it" : "is a training set: PERsD never scores on it"); }
            catch (ArgumentException e) { fail(key, e.Message); }
        }
        foreach (var k in new[] { "persd.samples", "persd.rounds", "persd.max_new_tokens", "persd.eval_samples", "persd.sandbox_slots" })
            if (r.Int(k) < 1) fail(k, "must be ≥ 1");
        if (r.Int("persd.repair_rounds") < 0 || r.Int("persd.eval_tasks") < 0) fail("persd.repair_rounds", "repair_rounds and eval_tasks must be ≥ 0");
        if (r.Float("persd.temperature") < 0 || r.Float("persd.eval_temperature") < 0) fail("persd.temperature", "temperatures must be ≥ 0");
        if (r.Float("persd.sandbox_timeout_s") <= 0) fail("persd.sandbox_timeout_s", "must be > 0");
        if (r.String("persd.teacher_mode") == "solve" && r.Int("persd.rounds") != 1)
            fail("persd.rounds", "must be 1 with persd.teacher_mode: solve (the teacher gets the task alone, so a second round would ask the same question)");
        if (r.String("persd.prompt_format") == "dataset")
            foreach (var key in new[] { "persd.train_source", "persd.eval_source" })
                if (r.String(key).StartsWith("mbpp", StringComparison.Ordinal))
                    fail("persd.prompt_format", $"dataset needs tasks whose completion continues their prompt; {key} '{r.String(key)}' is MBPP, whose prompt is prose: use authors");
    }
}

/// <summary>
/// PERsD's `train` stage: persd.train_on = sft trains on data/persd-train.jsonl (the variant's records)
/// with the recipe's train keys; a preference loss (dpo, ipo, hinge, plad-rank, plad-margin) trains on
/// data/persd-pairs.jsonl (refinement ≻ attempt) with β = persd.beta. The recipe's trainer is used for sft;
/// the preference path goes through the same <see cref="TrainingSetup"/>.
/// </summary>
public sealed class PersdTrainStage(ITrainStage trainer) : IStage
{
    public string Name => "train";

    public Task<StageResult> RunAsync(RunContext ctx, CancellationToken ct)
    {
        var on = ctx.Recipe.String("persd.train_on");
        if (on == SftMethod.MethodName) return trainer.TrainAsync(ctx, ctx.Dir.DataFile(PersdRun.TrainFile), ct);
        var spec = RecipeTrainStage.Spec(ctx, ctx.Dir.DataFile(PersdRun.PairsFile)) with
        {
            Method = on,
            Preference = new PreferenceOptions(TrainingSetup.PreferenceLoss(on), (float)ctx.Recipe.Float("persd.beta")),
        };
        spec = spec with { Options = spec.Options with { Stage = "persd-" + on } };
        return RecipeTrainStage.TrainAsync(ctx, spec, ct);
    }
}
