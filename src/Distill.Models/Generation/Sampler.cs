using Distill.Tensors;

namespace Distill.Models.Generation;

/// <summary>
/// Picks the next token from one row of logits, applying transformers' logits processors in generate()'s order:
/// RepetitionPenaltyLogitsProcessor (a seen token's logit divided by the penalty if positive, multiplied if
/// negative), TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper (keep the smallest set of most likely
/// tokens whose probability reaches top_p, at least one), then softmax sampling; temperature 0 is argmax.
/// </summary>
public static class Sampler
{
    /// <param name="logits">(vocab), modified in place</param>
    public static int Next(Span<float> logits, IReadOnlyCollection<int> seen, SamplingOptions o, Rng rng)
    {
        if (o.RepetitionPenalty != 1f)
            foreach (int t in seen)
                logits[t] = logits[t] < 0 ? logits[t] * o.RepetitionPenalty : logits[t] / o.RepetitionPenalty;
        if (o.Temperature == 0f) return ArgMax(logits);
        for (int i = 0; i < logits.Length; i++) logits[i] /= o.Temperature;
        if (o.TopK > 0 && o.TopK < logits.Length)
        {
            // keep logits ≥ the k-th largest (ties at the threshold survive, as torch.topk's threshold does)
            float kth = KthLargest(logits, o.TopK);
            for (int i = 0; i < logits.Length; i++) if (logits[i] < kth) logits[i] = float.NegativeInfinity;
        }
        Softmax(logits);
        if (o.TopP < 1f)
        {
            var order = Enumerable.Range(0, logits.Length).ToArray();
            var probs = logits.ToArray();
            Array.Sort(probs.Select(p => -p).ToArray(), order); // descending probability
            double cum = 0;
            int keep = 0;
            while (keep < order.Length) { cum += probs[order[keep]]; keep++; if (cum >= o.TopP) break; }
            var kept = new bool[logits.Length];
            for (int i = 0; i < keep; i++) kept[order[i]] = true;
            double z = 0;
            for (int i = 0; i < logits.Length; i++) { if (!kept[i]) logits[i] = 0; z += logits[i]; }
            for (int i = 0; i < logits.Length; i++) logits[i] = (float)(logits[i] / z);
        }
        double u = rng.NextDouble(), acc = 0;
        int last = 0;
        for (int i = 0; i < logits.Length; i++)
        {
            if (logits[i] <= 0) continue;
            acc += logits[i];
            last = i;
            if (u < acc) return i;
        }
        return last; // rounding: u beyond the accumulated mass
    }

    public static int ArgMax(ReadOnlySpan<float> x)
    {
        int best = 0;
        for (int i = 1; i < x.Length; i++) if (x[i] > x[best]) best = i;
        return best;
    }

    static float KthLargest(ReadOnlySpan<float> x, int k)
    {
        var copy = x.ToArray();
        Array.Sort(copy);
        return copy[^k];
    }

    static void Softmax(Span<float> x)
    {
        float max = float.NegativeInfinity;
        foreach (float v in x) max = Math.Max(max, v);
        double z = 0;
        for (int i = 0; i < x.Length; i++) { float e = float.IsNegativeInfinity(x[i]) ? 0 : MathF.Exp(x[i] - max); x[i] = e; z += e; }
        for (int i = 0; i < x.Length; i++) x[i] = (float)(x[i] / z);
    }
}
