using Distill.Methods.Runs;
using Distill.Methods.Sft;
using Microsoft.Extensions.AI;

namespace Distill.Methods.SeqKd;

/// <summary>
/// Sequence-level KD (Kim &amp; Rush 2016, "Sequence-Level Knowledge Distillation", §3.2): the teacher answers each
/// prompt (its approximate mode, greedy at teacher.temperature = 0) and the student is fine-tuned on those answers
/// with the SFT loss, min −log p_S(ŷ | x) with ŷ the teacher's output. The teacher is reached through IChatClient
/// (a local folder, `distill serve`, an OpenAI-compatible or Anthropic endpoint) by <see cref="TeacherGenerationStage"/>,
/// whose answers land in the run's response cache. Stages: data, teacher-gen, train (on data/teacher-gen.jsonl).
/// </summary>
public sealed class SeqKdMethod : IRecipeMethod
{
    public string Name => "seqkd";
    public string TrainingMethod => SftMethod.MethodName;
    public bool NeedsTeacher => true;

    public IReadOnlyList<IStage> Stages(RunDirectory dir, ITrainStage trainer, Func<RunContext, IChatClient>? teacher)
        => [new TeacherGenerationStage(teacher), new TrainStage(trainer, dir.DataFile(TeacherGenerationStage.Output))];
}
