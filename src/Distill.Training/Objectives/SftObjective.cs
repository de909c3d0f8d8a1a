using Distill.Tensors;
using Distill.Tensors.Autograd;
using Distill.Tensors.Autograd.Ops;
using Distill.Training.Data;

namespace Distill.Training.Objectives;

/// <summary>
/// Supervised fine-tuning: mean cross-entropy −log p(y_t | x, y_&lt;t) over the completion tokens of the micro-batch
/// (prompt and padding masked, TRL SFTTrainer with completion_only_loss). Also SeqKD's objective (Kim &amp; Rush 2016),
/// where the completions are the teacher's answers.
/// </summary>
public sealed class SftObjective : IObjective
{
    public string Name => "sft";

    public void Initialize(TrainingContext context) { }

    public MicroBatch Prepare(IReadOnlyList<int> indices, TrainingContext context, Rng rng)
    {
        var seq = Collator.Completions(indices.Select(i => context.Dataset[i]).ToList(), context.MaxLength, context.PadTokenId);
        return new MicroBatch(seq, [.. indices], seq.LabelCount);
    }

    public ObjectiveOutput Step(Tape tape, MicroBatch batch, float weight, TrainingContext context)
    {
        var s = batch.Sequences;
        using var mask = s.KeyMaskTensor();
        // logits of the labelled rows only (LossRows): the same mean over the same rows, without the head's work elsewhere
        var kept = LossRows.Kept(s.Labels);
        var logits = context.Model.Forward(tape, s.Ids, s.Rows, mask, kept?.Rows);
        var loss = CrossEntropy.Forward(tape, logits, kept?.Labels ?? s.Labels, overwriteLogits: true);
        float value = loss[0];
        if (batch.Units > 0 && float.IsFinite(value)) tape.Backward(loss, weight);
        return new ObjectiveOutput(value, ObjectiveOutput.NoMetrics);
    }
}
