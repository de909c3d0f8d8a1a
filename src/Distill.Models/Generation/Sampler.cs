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
        var ids = ArrayPool<int>.Shared.Rent(Math.Min(logits.Length, CandidateCapacity(o, logits.Length)));
        var probs = ArrayPool<float>.Shared.Rent(ids.Length);
        try
        {
            int n = Candidates(logits, seen, o, ref ids, ref probs);
            // inverse CDF over the kept tokens in vocabulary order (the probabilities are normalized to sum 1)
            double u = rng.NextDouble(), acc = 0;
            int last = 0;
            for (int c = 0; c < n; c++)
            {
                if (probs[c] <= 0) continue;
                acc += probs[c];
                last = ids[c];
                if (u < acc) return ids[c];
            }
            return last; // rounding: u beyond the accumulated mass
        }
        finally
        {
            ArrayPool<int>.Shared.Return(ids);
            ArrayPool<float>.Shared.Return(probs);
        }
    }

    /// <summary>
    /// The distribution a sampled token is drawn from (temperature &gt; 0): logits → probabilities in place, after the
    /// repetition penalty, temperature, top-k and top-p; dropped tokens get exactly 0 and the rest sum to 1.
    /// </summary>
    public static void Probabilities(Span<float> logits, IReadOnlyCollection<int> seen, SamplingOptions o)
    {
        if (o.Temperature <= 0) throw new ArgumentException("Sampler.Probabilities: temperature must be > 0 (0 is greedy)");
        var ids = ArrayPool<int>.Shared.Rent(Math.Min(logits.Length, CandidateCapacity(o, logits.Length)));
        var probs = ArrayPool<float>.Shared.Rent(ids.Length);
        try
        {
            int n = Candidates(logits, seen, o, ref ids, ref probs);
            logits.Clear();
            for (int c = 0; c < n; c++) logits[ids[c]] = probs[c];
        }
        finally
        {
            ArrayPool<int>.Shared.Return(ids);
            ArrayPool<float>.Shared.Return(probs);
        }
    }

    /// <summary>Room for top-k's survivors (ties at the k-th value may add more: the buffers then grow).</summary>
    static int CandidateCapacity(SamplingOptions o, int vocab) => o.TopK > 0 && o.TopK < vocab ? Math.Max(2 * o.TopK, 256) : vocab;

    /// <summary>
    /// The tokens that survive the repetition penalty, temperature and top-k (TopKLogitsWarper: logits ≥ the k-th
    /// largest, ties kept), in vocabulary order, with their softmax probabilities; top-p (TopPLogitsWarper) then zeroes
    /// the tail and renormalizes. Only the survivors are exponentiated and searched: with top-k 50 that is a few dozen
    /// values instead of the vocabulary, where transformers masks the dropped logits with −∞ and softmaxes all of them
    /// (the same distribution: exp(−∞) = 0, and the sum runs over the survivors in the same order).
    /// logits is modified in place (penalty, temperature); ids/probs are pooled buffers, replaced when too small.
    /// </summary>
    static int Candidates(Span<float> logits, IReadOnlyCollection<int> seen, SamplingOptions o, ref int[] ids, ref float[] probs)
    {
        Penalize(logits, seen, o.RepetitionPenalty);
        if (o.Temperature != 1f) TensorPrimitives.Divide(logits, o.Temperature, logits); // scores / temperature
        int n;
        if (o.TopK > 0 && o.TopK < logits.Length)
        {
            float kth = KthLargest(logits, o.TopK);
            n = 0;
            // the survivors in vocabulary order; eight logits at a time skipped when none reaches the k-th (nearly all)
            ref float first = ref MemoryMarshal.GetReference((ReadOnlySpan<float>)logits);
            var bar = Vector256.Create(kth);
            for (int i0 = 0; i0 < logits.Length; i0 += 8)
            {
                if (i0 + 8 <= logits.Length && !Vector256.GreaterThanOrEqualAny(Vector256.LoadUnsafe(ref first, (nuint)i0), bar)) continue;
                for (int i = i0; i < Math.Min(i0 + 8, logits.Length); i++)
                {
                    if (!(logits[i] >= kth)) continue;
                    if (n == ids.Length) Grow(ref ids, ref probs, Math.Min(logits.Length, Math.Max(2 * ids.Length, 256)));
                    ids[n] = i;
                    probs[n++] = logits[i];
                }
            }
        }
        else
        {
            if (ids.Length < logits.Length) Grow(ref ids, ref probs, logits.Length);
            n = logits.Length;
            for (int i = 0; i < n; i++) ids[i] = i;
            logits.CopyTo(probs);
        }
        var p = probs.AsSpan(0, n);
        Softmax(p);
        if (o.TopP < 1f) TopP(p, o.TopP);
        return n;
    }

    static void Grow(ref int[] ids, ref float[] probs, int size)
    {
        var i2 = ArrayPool<int>.Shared.Rent(size);
        var p2 = ArrayPool<float>.Shared.Rent(size);
        ids.CopyTo(i2, 0);
        probs.AsSpan(0, Math.Min(probs.Length, p2.Length)).CopyTo(p2);
        ArrayPool<int>.Shared.Return(ids);
        ArrayPool<float>.Shared.Return(probs);
        ids = i2;
        probs = p2;
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

    /// <summary>
    /// The k-th largest value (1-based): a min-heap of the k largest seen so far, one pass over x; blocks of eight values
    /// none of which beats the heap's minimum are skipped with one vector compare (after the first few hundred values
    /// that is nearly all of them), so the cost is about one read of x where a selection on a copy partitions it
    /// several times.
    /// </summary>
    public static float KthLargest(ReadOnlySpan<float> x, int k)
    {
        if (k < 1 || k > x.Length) throw new ArgumentOutOfRangeException(nameof(k), $"KthLargest: k = {k} for {x.Length} values");
        var pool = ArrayPool<float>.Shared.Rent(k);
        try
        {
            var heap = pool.AsSpan(0, k);
            x[..k].CopyTo(heap);
            for (int i = k / 2 - 1; i >= 0; i--) SiftDown(heap, i);
            int j = k;
            ref float r = ref MemoryMarshal.GetReference(x);
            while (j < x.Length)
            {
                if (j + 8 <= x.Length && !Vector256.GreaterThanAny(Vector256.LoadUnsafe(ref r, (nuint)j), Vector256.Create(heap[0])))
                {
                    j += 8;
                    continue;
                }
                int end = Math.Min(x.Length, j + 8);
                for (; j < end; j++)
                    if (x[j] > heap[0])
                    {
                        heap[0] = x[j];
                        SiftDown(heap, 0);
                    }
            }
            return heap[0];
        }
        finally { ArrayPool<float>.Shared.Return(pool); }
    }

    static void SiftDown(Span<float> heap, int i)
    {
        float v = heap[i];
        while (true)
        {
            int c = 2 * i + 1;
            if (c >= heap.Length) break;
            if (c + 1 < heap.Length && heap[c + 1] < heap[c]) c++;
            if (!(heap[c] < v)) break;
            heap[i] = heap[c];
            i = c;
        }
        heap[i] = v;
    }

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
