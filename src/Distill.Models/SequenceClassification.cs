using Distill.Tensors;
using Distill.Tensors.Autograd;
using Distill.Tensors.Autograd.Ops;

namespace Distill.Models;

/// <summary>
/// Pooling of a *ForSequenceClassification model, exactly as transformers' LlamaForSequenceClassification.forward:
/// the score of each row is the one at its last non-pad token, found as
/// <c>argmax(arange(T) · (input_ids != pad_token_id))</c> — the rightmost token that is not the pad id, so left and
/// right padding both work (a row of only pad tokens yields index 0). Without a pad_token_id the last position is
/// used, and a batch of more than one row is an error ("Cannot handle batch sizes &gt; 1 if no padding token is defined.").
/// </summary>
public static class SequenceClassification
{
    /// <summary>For ids (batch·T), the flat index b·T + t of each row's pooled token.</summary>
    public static int[] LastNonPadRows(int[] ids, int batch, int? padTokenId)
    {
        if (batch <= 0 || ids.Length % batch != 0) throw new ArgumentException($"{ids.Length} ids do not split into {batch} rows of equal length");
        int t = ids.Length / batch;
        if (padTokenId is null && batch != 1)
            throw new InvalidOperationException("Cannot handle batch sizes > 1 if no padding token is defined (config.json has no pad_token_id)");
        var rows = new int[batch];
        for (int b = 0; b < batch; b++)
        {
            int last = t - 1;
            if (padTokenId is int pad)
            {
                last = 0;
                for (int i = t - 1; i >= 0; i--)
                    if (ids[b * t + i] != pad) { last = i; break; }
            }
            rows[b] = b * t + last;
        }
        return rows;
    }

    /// <summary>Generation and log-probabilities need vocabulary logits: a classifier's per-token scores are not.</summary>
    public static void RequireLanguageModel(CausalLM model, string what)
    {
        if (model.Config.IsSequenceClassifier)
            throw new InvalidOperationException($"{model.Config.Architecture} is a sequence classifier (score head, {model.Config.NumLabels} labels): it cannot {what}; use it as a reward model (distill eval reward)");
    }

    /// <summary>Scores (batch, num_labels) of a sequence classifier for ids (batch·T); keyMask as in <see cref="CausalLM.Forward"/>.</summary>
    public static Tensor Pool(Tape tape, CausalLM model, int[] ids, int batch, Tensor? keyMask = null)
    {
        if (!model.Config.IsSequenceClassifier)
            throw new InvalidOperationException($"{model.Config.Architecture} is a language model, not a sequence classifier (no score head)");
        var rows = LastNonPadRows(ids, batch, model.Config.PadTokenId);
        return GatherRows.Forward(tape, model.Forward(tape, ids, batch, keyMask), rows);
    }
}
