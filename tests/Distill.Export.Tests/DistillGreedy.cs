using Distill.Models;
using Distill.Tensors.Autograd;

namespace Distill.Export.Tests;

/// <summary>Distill's greedy continuation by full forwards, with the gap between the top two logits at every step.</summary>
static class DistillGreedy
{
    public static (int[] Tokens, float MinGap) Run(CausalLM model, int[] prompt, int steps)
    {
        var ids = new List<int>(prompt);
        var tokens = new int[steps];
        float minGap = float.MaxValue;
        int vocab = model.Config.VocabSize;
        for (int s = 0; s < steps; s++)
        {
            using var tape = new Tape { NoGrad = true };
            var logits = model.Forward(tape, ids.ToArray(), 1);
            var row = logits.Span.Slice((ids.Count - 1) * vocab, vocab);
            int best = 0;
            for (int v = 1; v < vocab; v++) if (row[v] > row[best]) best = v;
            float second = float.MinValue;
            for (int v = 0; v < vocab; v++) if (v != best && row[v] > second) second = row[v];
            minGap = Math.Min(minGap, row[best] - second);
            tokens[s] = best;
            ids.Add(best);
        }
        return (tokens, minGap);
    }
}
