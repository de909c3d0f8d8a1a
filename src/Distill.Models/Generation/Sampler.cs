using System.Buffers;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Distill.Tensors;

namespace Distill.Models.Generation;

/// <summary>
/// Picks the next token from one row of logits, applying transformers' logits processors in generate()'s order:
/// RepetitionPenaltyLogitsProcessor (a seen token's logit divided by the penalty if positive, multiplied if
/// negative), TemperatureLogitsWarper, TopKLogitsWarper (logits below the k-th largest dropped; ties at it kept),
/// TopPLogitsWarper (keep the smallest set of most likely tokens whose probability reaches top_p, at least one),
/// then softmax sampling; temperature 0 is argmax. Linear in the vocabulary: the k-th largest logit by selection,
/// the top-p set by a search on the probability threshold (no sort of the vocabulary), so that sampling stays
/// small beside a batched decoding step.
/// </summary>
public static class Sampler
{
    /// <param name="logits">(vocab), modified in place</param>
    public static int Next(Span<float> logits, IReadOnlyCollection<int> seen, SamplingOptions o, Rng rng)
    {
        if (o.Temperature == 0f)
        {
            Penalize(logits, seen, o.RepetitionPenalty);
            return ArgMax(logits);
        }
        Probabilities(logits, seen, o);
        // inverse CDF over the kept tokens in vocabulary order (the probabilities are normalized to sum 1)
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

    /// <summary>
    /// The distribution a sampled token is drawn from (temperature &gt; 0): logits → probabilities in place, after the
    /// repetition penalty, temperature, top-k and top-p; dropped tokens get exactly 0 and the rest sum to 1.
    /// </summary>
    public static void Probabilities(Span<float> logits, IReadOnlyCollection<int> seen, SamplingOptions o)
    {
        if (o.Temperature <= 0) throw new ArgumentException("Sampler.Probabilities: temperature must be > 0 (0 is greedy)");
        Penalize(logits, seen, o.RepetitionPenalty);
        if (o.Temperature != 1f) TensorPrimitives.Divide(logits, o.Temperature, logits); // scores / temperature
        if (o.TopK > 0 && o.TopK < logits.Length)
        {
            float kth = KthLargest(logits, o.TopK);
            for (int i = 0; i < logits.Length; i++) if (logits[i] < kth) logits[i] = float.NegativeInfinity;
        }
        Softmax(logits);
        if (o.TopP < 1f) TopP(logits, o.TopP);
    }

    static void Penalize(Span<float> logits, IReadOnlyCollection<int> seen, float penalty)
    {
        if (penalty == 1f) return;
        foreach (int t in seen)
            logits[t] = logits[t] < 0 ? logits[t] * penalty : logits[t] / penalty;
    }

    public static int ArgMax(ReadOnlySpan<float> x)
    {
        int best = 0;
        for (int i = 1; i < x.Length; i++) if (x[i] > x[best]) best = i;
        return best;
    }

    /// <summary>The k-th largest value (1-based), by quickselect on a pooled copy: O(vocab), where a sort costs O(vocab log vocab).</summary>
    public static float KthLargest(ReadOnlySpan<float> x, int k)
    {
        var pool = ArrayPool<float>.Shared.Rent(x.Length);
        try
        {
            var a = pool.AsSpan(0, x.Length);
            x.CopyTo(a);
            int target = x.Length - k, lo = 0, hi = x.Length - 1; // the value at ascending index n − k
            while (lo < hi)
            {
                float pivot = MedianOf3(a[lo], a[lo + (hi - lo) / 2], a[hi]);
                int i = lo, j = hi;
                while (i <= j)
                {
                    while (a[i] < pivot) i++;
                    while (a[j] > pivot) j--;
                    if (i <= j) { (a[i], a[j]) = (a[j], a[i]); i++; j--; }
                }
                if (target <= j) hi = j;
                else if (target >= i) lo = i;
                else break; // between j and i every value equals the pivot
            }
            return a[target];
        }
        finally { ArrayPool<float>.Shared.Return(pool); }
    }

    static float MedianOf3(float a, float b, float c) => Math.Max(Math.Min(a, b), Math.Min(Math.Max(a, b), c));

    static void Softmax(Span<float> x)
    {
        float max = TensorPrimitives.Max(x);
        TensorPrimitives.Subtract(x, max, x);
        TensorPrimitives.Exp(x, x); // −∞ (a dropped token) → 0
        TensorPrimitives.Multiply(x, (float)(1.0 / Sum(x)), x);
    }

    /// <summary>
    /// TopPLogitsWarper: keep the most likely tokens, in descending probability, until their mass reaches
    /// <paramref name="topP"/> (the token that crosses it included; at least one), then renormalize. The kept set is
    /// {p ≥ v} for v the largest probability with mass(p ≥ v) ≥ top_p, found by bisection on v's bits (positive floats
    /// order as their bit patterns); of tokens tied at v only as many as needed are kept, lowest ids first (a stable
    /// descending sort's order).
    /// </summary>
    static void TopP(Span<float> p, float topP)
    {
        // the bisection reads only the non-zero probabilities (after top-k, a handful), compacted once
        var pool = ArrayPool<float>.Shared.Rent(p.Length);
        float v;
        try
        {
            int n = 0;
            foreach (float x in p) if (x > 0) pool[n++] = x;
            var nz = pool.AsSpan(0, n);
            int lo = 0, hi = BitConverter.SingleToInt32Bits(TensorPrimitives.Max(nz)); // mass(≥ lo) ≥ topP holds at lo = 0
            while (lo < hi)
            {
                int mid = lo + (hi - lo + 1) / 2;
                if (MassAtLeast(nz, BitConverter.Int32BitsToSingle(mid)) >= topP) lo = mid; else hi = mid - 1;
            }
            v = Math.Max(BitConverter.Int32BitsToSingle(lo), float.Epsilon); // v > 0: zero-probability tokens stay dropped
        }
        finally { ArrayPool<float>.Shared.Return(pool); }
        double above = 0;
        foreach (float x in p) if (x > v) above += x;
        double kept = above;
        for (int i = 0; i < p.Length; i++)
        {
            if (p[i] > v) continue;
            if (p[i] == v && (kept < topP || kept == above)) kept += p[i]; // ties at v: only until the mass reaches top_p
            else p[i] = 0;
        }
        TensorPrimitives.Multiply(p, (float)(1.0 / kept), p);
    }

    /// <summary>Σ x over x ≥ v, in eight float lanes (the bisection's test; its rounding only moves ties of mass exactly top_p).</summary>
    static float MassAtLeast(ReadOnlySpan<float> x, float v)
    {
        var acc = Vector256<float>.Zero;
        var vv = Vector256.Create(v);
        int i = 0;
        ref float r = ref MemoryMarshal.GetReference(x);
        for (; i + 8 <= x.Length; i += 8)
        {
            var xs = Vector256.LoadUnsafe(ref r, (nuint)i);
            acc += Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(xs, vv), xs, Vector256<float>.Zero);
        }
        float s = Vector256.Sum(acc);
        for (; i < x.Length; i++) if (x[i] >= v) s += x[i];
        return s;
    }

    static double Sum(ReadOnlySpan<float> x)
    {
        double s = 0;
        foreach (float v in x) s += v;
        return s;
    }
}
