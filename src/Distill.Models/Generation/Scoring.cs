using Distill.Tensors.Autograd;

namespace Distill.Models.Generation;

/// <summary>
/// Log-probabilities of a completion given a prompt, ln p(c_t | prompt, c_&lt;t) for each completion token, computed
/// in double from one forward over prompt + completion (the quantity TRL's DPO and `distill score` use).
/// </summary>
public static class Scoring
{
    public static double[] CompletionLogProbs(CausalLM model, int[] prompt, int[] completion)
    {
        SequenceClassification.RequireLanguageModel(model, "score completions");
        if (prompt.Length == 0) throw new ArgumentException("the prompt is empty: the first completion token needs a context (e.g. BOS)");
        int vocab = model.Config.VocabSize;
        var ids = prompt.Concat(completion).ToArray();
        foreach (int t in ids)
            if ((uint)t >= (uint)vocab) throw new ArgumentException($"token id {t} is outside the vocabulary (size {vocab})");
        if (completion.Length == 0) return [];
        using var tape = new Tape { NoGrad = true };
        var logits = model.Forward(tape, ids, 1).Span;
        var result = new double[completion.Length];
        for (int t = 0; t < completion.Length; t++)
        {
            var row = logits.Slice((prompt.Length - 1 + t) * vocab, vocab);
            double max = double.NegativeInfinity, z = 0;
            foreach (float x in row) max = Math.Max(max, x);
            foreach (float x in row) z += Math.Exp(x - max);
            result[t] = row[completion[t]] - max - Math.Log(z);
        }
        return result;
    }
}
