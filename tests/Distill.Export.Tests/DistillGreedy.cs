using Distill.Models;
using Distill.Tensors.Autograd;

namespace Distill.Export.Tests;

/// <summary>Distill's greedy continuation by full forwards, with the gap between the top two logits at every step.</summary>
static class DistillGreedy
{
    static readonly Dictionary<string, (int[] Tokens, float MinGap)> Memo = [];
    static readonly Lock Gate = new();

    /// <summary>
    /// <see cref="Run"/> of the model saved in <paramref name="dir"/>, computed once per test run: the exports of one
    /// family (f32, f16, q8_0, the deliberately wrong ones) are all compared with the same Distill decode of the same
    /// weights, which is deterministic, so recomputing it per export would only repeat the same numbers.
    /// </summary>
    public static (int[] Tokens, float MinGap) Of(string dir, CausalLM model, int[] prompt, int steps)
    {
        string key = $"{dir}|{string.Join(',', prompt)}|{steps}";
        lock (Gate)
        {
            if (!Memo.TryGetValue(key, out var r)) Memo[key] = r = Run(model, prompt, steps);
            return (r.Tokens.ToArray(), r.MinGap);
        }
    }

    public static (int[] Tokens, float MinGap) Run(CausalLM model, int[] prompt, int steps)
    {
        var ids = new List<int>(prompt);
        var tokens = new int[steps];
        float minGap = float.MaxValue;
        int vocab = model.Config.VocabSize;
        for (int s = 0; s < steps; s++)
        {
            using var tape = new Tape { NoGrad = true };
            // the whole sequence through every layer (no KV cache), the head on its last row only: the other rows'
            // logits are not read, and the head (vocab × hidden) is most of a tiny model's forward
            var row = model.Forward(tape, ids.ToArray(), 1, null, [ids.Count - 1]).Span[..vocab];
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
