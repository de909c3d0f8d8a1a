using Distill.Models.Generation;
using Distill.Tensors;

namespace Distill.Models.Tests.Generation;

/// <summary>
/// The sampling distribution after top-k / top-p against hand computations, in transformers' conventions:
/// TopKLogitsWarper drops logits below the k-th largest (ties at it survive); TopPLogitsWarper keeps the smallest
/// set of most likely tokens whose cumulative probability reaches top_p, at least one token.
/// </summary>
public class SamplerFilterTests
{
    static float[] Dist(double[] probs, SamplingOptions o)
    {
        var x = probs.Select(p => p > 0 ? (float)Math.Log(p) : float.NegativeInfinity).ToArray();
        Sampler.Probabilities(x, [], o);
        return x;
    }

    static void Near(double[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++) Assert.True(Math.Abs(expected[i] - actual[i]) < 1e-6, $"[{i}] {actual[i]} vs {expected[i]}");
    }

    static readonly double[] P = [0.1, 0.5, 0.05, 0.2, 0.15]; // sorted: 0.5 (1), 0.2 (3), 0.15 (4), 0.1 (0), 0.05 (2)

    [Fact]
    public void TopPKeepsTheSmallestSetReachingP()
    {
        // 0.6: 0.5 < 0.6 ≤ 0.5 + 0.2 → {1, 3}
        Near([0, 0.5 / 0.7, 0, 0.2 / 0.7, 0], Dist(P, new SamplingOptions { TopP = 0.6f }));
        // 0.75: 0.7 < 0.75 ≤ 0.85 → {1, 3, 4}
        Near([0, 0.5 / 0.85, 0, 0.2 / 0.85, 0.15 / 0.85], Dist(P, new SamplingOptions { TopP = 0.75f }));
        // 0.96: needs all but the 0.05 (0.95 < 0.96) → all five
        Near(P, Dist(P, new SamplingOptions { TopP = 0.96f }));
        // 0.9: 0.85 < 0.9 ≤ 0.95 → drops only token 2
        Near([0.1 / 0.95, 0.5 / 0.95, 0, 0.2 / 0.95, 0.15 / 0.95], Dist(P, new SamplingOptions { TopP = 0.9f }));
        // tiny p: still one token, the most likely
        Near([0, 1, 0, 0, 0], Dist(P, new SamplingOptions { TopP = 1e-6f }));
        // ties at the boundary: of 0.3, 0.3, 0.3, 0.1 at p 0.5 two tied tokens suffice; the lowest ids are kept
        Near([0.5, 0.5, 0, 0], Dist([0.3, 0.3, 0.3, 0.1], new SamplingOptions { TopP = 0.5f }));
    }

    // A vocabulary of 1,003 (not a multiple of the eight logits the survivors' scan skips at a time): top-k 40 with three
    // logits tied at the 40th largest in different blocks and in the tail, and a NaN, against the definition computed
    // directly (survivors: logit ≥ the k-th largest, NaN never; probabilities ∝ exp over the survivors).
    [Fact]
    public void TopKOverALargeVocabularyKeepsExactlyTheSurvivors()
    {
        var rng = new Random(4);
        var x = Enumerable.Range(0, 1003).Select(_ => (float)rng.NextDouble() * 4f - 8f).ToArray();
        for (int i = 0; i < 37; i++) x[10 + 27 * i] = 1f + 0.05f * i;  // 37 larger, none in the ties' blocks
        x[5] = x[517] = x[1001] = 0.5f;                                  // three ties at the 40th largest: alone in their blocks, and in the tail
        x[300] = float.NaN;
        var o = new SamplingOptions { TopK = 40 };
        float kth = x.Where(v => !float.IsNaN(v)).OrderDescending().ElementAt(39);
        var keep = Enumerable.Range(0, x.Length).Where(i => x[i] >= kth).ToArray();
        double z = keep.Sum(i => Math.Exp(x[i] - x.Where(v => !float.IsNaN(v)).Max()));
        var got = (float[])x.Clone();
        Sampler.Probabilities(got, [], o);
        for (int i = 0; i < x.Length; i++)
        {
            double want = keep.Contains(i) ? Math.Exp(x[i] - x.Where(v => !float.IsNaN(v)).Max()) / z : 0;
            Assert.True(Math.Abs(want - got[i]) < 1e-6 && (want > 0) == (got[i] > 0), $"[{i}] logit {x[i]}: {got[i]} vs {want}");
        }
        Assert.Equal(0.5f, kth);
        Assert.Equal(40, keep.Length);
    }

    [Fact]
    public void TopKKeepsTheKLargestAndTiesAtTheThreshold()
    {
        Near([0, 0.5 / 0.7, 0, 0.2 / 0.7, 0], Dist(P, new SamplingOptions { TopK = 2 }));
        Near([0, 1, 0, 0, 0], Dist(P, new SamplingOptions { TopK = 1 }));
        Near(P, Dist(P, new SamplingOptions { TopK = 5 }));
        Near([1 / 3.0, 1 / 3.0, 1 / 3.0, 0], Dist([0.3, 0.3, 0.3, 0.1], new SamplingOptions { TopK = 2 }));
        // top-k first, then top-p on the renormalized survivors: {1, 3, 4} → 0.5/0.85 ≈ 0.588 < 0.6 ≤ 0.824 → {1, 3}
        Near([0, 0.5 / 0.7, 0, 0.2 / 0.7, 0], Dist(P, new SamplingOptions { TopK = 3, TopP = 0.6f }));
    }

    [Fact]
    public void TemperatureScalesTheLogitsBeforeTheFilters()
    {
        // T = 2: p ∝ √p_i
        var sq = P.Select(Math.Sqrt).ToArray();
        double z = sq.Sum();
        Near(sq.Select(s => s / z).ToArray(), Dist(P, new SamplingOptions { Temperature = 2f }));
        // the top-p set is chosen on the tempered distribution: √0.5/z ≈ 0.323, + √0.2/z ≈ 0.527 ≥ 0.5
        double z2 = sq[1] + sq[3];
        Near([0, sq[1] / z2, 0, sq[3] / z2, 0], Dist(P, new SamplingOptions { Temperature = 2f, TopP = 0.5f }));
    }

    [Fact]
    public void KthLargestBySelectionEqualsSorting()
    {
        var rng = new Rng(3);
        for (int trial = 0; trial < 200; trial++)
        {
            int n = 1 + rng.NextInt(300);
            var x = Enumerable.Range(0, n).Select(_ => (float)rng.NextInt(20)).ToArray(); // many ties
            int k = 1 + rng.NextInt(n);
            var sorted = x.OrderDescending().ToArray();
            Assert.Equal(sorted[k - 1], Sampler.KthLargest(x, k));
        }
    }
}
