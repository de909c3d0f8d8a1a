using Distill.Methods.Runs;
using Distill.Training.Objectives;
using Microsoft.Extensions.AI;

namespace Distill.Methods.Sft;

/// <summary>
/// Supervised fine-tuning: cross-entropy of the data's completions given their prompts (prompt tokens masked), the
/// token mean over the optimizer step (<see cref="SftObjective"/>). Stages: data, train.
/// </summary>
public sealed class SftMethod : IRecipeMethod
{
    public const string MethodName = "sft";
    public string Name => MethodName;
    public string TrainingMethod => MethodName;
    public bool NeedsTeacher => false;

    public IReadOnlyList<IStage> Stages(RunDirectory dir, ITrainStage trainer, Func<RunContext, IChatClient>? teacher)
        => [new TrainStage(trainer, dir.DataFile(DataStage.Output))];

    public static IObjective Objective() => new SftObjective();
}
