using System.Text.Json.Nodes;
using Distill.Data.Jsonl;
using Distill.Methods.Preference;
using Distill.Methods.Runs;
using Distill.Training;
using Distill.Training.Objectives;
using Microsoft.Extensions.AI;

namespace Distill.Methods.DpoKd;

/// <summary>
/// DPO-KD as recipe methods `dpo-kd-offline` and `dpo-kd-online` (dpo-kd.txt §2.1–2.2): the teacher answers every
/// prompt through IChatClient (TeacherGenerationStage: cached, retried, costed), then <see cref="DpoKdStage"/> samples
/// the student, builds the pairs and trains (once, or per online iteration). Stages: data, [models], teacher-gen, dpo-kd.
/// </summary>
public sealed class DpoKdMethod(bool online) : IRecipeMethod
{
    public string Name => online ? "dpo-kd-online" : "dpo-kd-offline";
    public string TrainingMethod => "dpo";
    public bool NeedsTeacher => true;

    public IReadOnlyList<IStage> Stages(RunDirectory dir, ITrainStage trainer, Func<RunContext, IChatClient>? teacher)
        => [new TeacherGenerationStage(teacher), new DpoKdStage(online)];
}

/// <summary>
/// The `dpo-kd` stage: <see cref="DpoKdLoop"/> over the run directory (iter-K/, metrics.jsonl with "iteration" and
/// "global_step", iterations.jsonl, adapter/). Killed at any point, `distill run --resume` continues it: finished
/// iterations are skipped, the pairs of the current one are read back, and its training resumes from its checkpoint.
/// </summary>
public sealed class DpoKdStage(bool online) : IStage
{
    public string Name => "dpo-kd";

    public Task<StageResult> RunAsync(RunContext ctx, CancellationToken ct)
    {
        var r = ctx.Recipe;
        var records = JsonlReader.Read(ctx.Dir.DataFile(TeacherGenerationStage.Output)).Select(x => x.Json).ToList();
        var prompts = records.Select(x => (string)x["prompt"]!).ToList();
        var teacherName = ModelStage.TeacherReference(ctx);
        var answers = records.Select(x => x["completion"] is { } c ? new Answer((string)c!, (string?)x["teacher"] ?? teacherName, Truncated(x)) : null).ToList();
        var options = new DpoKdOptions
        {
            Online = online, Iterations = (int)r.Int("preference.iterations"),
            Sampling = PreferenceRecipe.Sampling(r), Loss = PreferenceRecipe.Loss(r, PreferenceLossKind.Dpo),
            Trainer = PreferenceRecipe.Trainer(r), Lora = PreferenceRecipe.Lora(r), QLora = PreferenceRecipe.QLora(r),
            SamplingWeights = PreferenceRecipe.InferenceWeights(r),
            DropTruncated = (bool)r["preference.drop_truncated"]!,
            StudentName = r.String("student.model").Length > 0 ? r.String("student.model") : "student:" + r.String("student.init"),
        };
        var loop = new DpoKdLoop(options, ModelStage.StudentPath(ctx), prompts, answers, ctx.Dir.Root);
        var log = new SayWriter(ctx);
        DpoKdResult result;
        try { result = loop.Run(log, PreferenceRecipe.Progress(ctx, Name), ct); }
        catch (TrainingDivergedException e) { throw new StageFailedException(Name, e.Message, e); }
        catch (InvalidOperationException e) { throw new StageFailedException(Name, e.Message, e); }
        ct.ThrowIfCancellationRequested();
        if (!result.Completed) throw new StageFailedException(Name, "stopped before the last iteration finished; `distill run --resume` continues it");
        var details = new JsonObject
        {
            ["iterations"] = options.Rounds,
            ["pairs"] = new JsonArray(result.Rounds.Select(s => (JsonNode)s.ToJson()).ToArray()),
        };
        var outputs = Directory.GetFiles(result.FinalDir!).Append(result.MetricsPath).Append(Path.Combine(ctx.Dir.Root, RoundFiles.Iterations)).ToArray();
        return Task.FromResult(new StageResult(outputs, [], details));
    }

    /// <summary>Whether teacher-gen recorded the answer as cut at teacher.max_tokens (null: the client did not say).</summary>
    internal static bool? Truncated(JsonObject record) => record["finish_reason"] is { } f ? (string?)f == "length" : null;
}
