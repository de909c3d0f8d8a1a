using Distill.Tensors;
using Distill.Tensors.Autograd;
using Distill.Tensors.Autograd.Ops;

namespace Distill.Models.Llama;

/// <summary>
/// LlamaForSequenceClassification (and Qwen2's and Mistral's, which share it): the Llama decoder, no lm_head, and
/// <c>score = nn.Linear(hidden, num_labels, bias=False)</c> on every position. The forward returns the per-token scores
/// (batch·T, num_labels); <see cref="SequenceClassification.Pool"/> picks each row's last non-pad token as
/// transformers does. A reward model is one with num_labels = 1 (TRL's RewardTrainer).
/// </summary>
public sealed class LlamaForSequenceClassification : LlamaForCausalLM
{
    readonly Parameter _score;

    public LlamaForSequenceClassification(ModelConfig c) : base(c, lmHead: false)
    {
        if (c.NumLabels is not int labels)
            throw new ArgumentException($"{c.Architecture}: a sequence classifier needs num_labels", nameof(c));
        _score = AddWeight(LlamaWeights.Score, [labels, c.HiddenSize]);
    }

    protected override Tensor Head(Tape tape, Tensor h) => Linear.Forward(tape, h, _score.Value);
}
