using Distill.Tensors.Kernels.Losses;

namespace Distill.Tensors.Tests.Losses;

/// <summary>Per-sequence target log-probabilities (sum and length-normalised) against the double reference; gradients by central differences.</summary>
public class SequenceLogProbKernelTests
{
    // log p_t = x_t − lse: one log-sum-exp (≈ 1e-6 absolute for |x| ≲ 6); sums over T ≤ 4 tokens.
    // Relative to the magnitude of the vector, 1e-5 leaves a 10× margin; a wrong mean divisor or a
    // missing one-hot term is an O(1/T) relative error.
    const double Tol = 1e-5;

    [Fact]
    public void MatchesReferenceAndFiniteDifferencesForEveryTailLength()
    {
        foreach (int v in LossCheck.Widths())
        {
            var rng = new Random(v);
            const int batch = 3, seqLen = 4;
            var logits = LossCheck.Normal(rng, batch * seqLen * v, 2);
            // seq 0: a prompt of 2 tokens (ignored); seq 1: all kept; seq 2: nothing kept (sum 0, mean 0, no gradient)
            int[] targets = [-100, -100, v - 1, 0, 0, v / 2, v - 1, v / 3, -100, -100, -100, -100];
            var tok = new float[batch * seqLen]; var lse = new float[batch * seqLen];
            var sum = new float[batch]; var mean = new float[batch];
            SequenceLogProbKernels.SequenceLogProbForward(logits, batch, v, targets, -100, tok, lse, sum, mean);
            var (es, em) = LossReference.SequenceLogProb(logits, batch, v, targets);
            LossCheck.Close($"V={v} sum", sum, es, Tol);
            LossCheck.Close($"V={v} mean", mean, em, Tol);
            Assert.Equal(0f, sum[2]); Assert.Equal(0f, mean[2]);
            Assert.Equal(sum[0], tok[2] + tok[3], 5);

            float[] dSum = [0.7f, -1.3f, 2f], dMean = [1.1f, 0.4f, -3f];
            var dl = Enumerable.Repeat(0.125f, logits.Length).ToArray();
            SequenceLogProbKernels.SequenceLogProbBackward(logits, batch, v, targets, -100, lse, dSum, dMean, dl);
            if (v > 40) continue;
            var num = LossCheck.Gradient(logits, x =>
            {
                double f = 0;
                for (int b = 0; b < batch; b++)
                {
                    double s = 0; int n = 0;
                    for (int t = 0; t < seqLen; t++)
                    {
                        int r = b * seqLen + t;
                        if (targets[r] == -100) continue;
                        s += LossReference.LogSoftmax(x.AsSpan(r * v, v), 1.0)[targets[r]]; n++;
                    }
                    f += dSum[b] * s + (n == 0 ? 0 : dMean[b] * s / n);
                }
                return f;
            });
            for (int i = 0; i < num.Length; i++) num[i] += 0.125;
            LossCheck.Close($"V={v} dlogits", dl, num, Tol);
        }
    }

    [Fact]
    public void EmptyUpstreamGradientMeansZero()
    {
        var rng = new Random(2);
        var logits = LossCheck.Normal(rng, 2 * 3 * 5);
        int[] targets = [1, 2, 3, 4, 0, -100];
        var lse = new float[6];
        SequenceLogProbKernels.SequenceLogProbForward(logits, 2, 5, targets, -100, new float[6], lse, new float[2], new float[2]);
        var a = new float[30]; var b = new float[30];
        SequenceLogProbKernels.SequenceLogProbBackward(logits, 2, 5, targets, -100, lse, [1f, 1f], default, a);
        SequenceLogProbKernels.SequenceLogProbBackward(logits, 2, 5, targets, -100, lse, [1f, 1f], [0f, 0f], b);
        Assert.Equal(a, b);
        Assert.Contains(a, g => g != 0f);
    }

    [Fact]
    public void BadInputGetsClearErrors()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => SequenceLogProbKernels.SequenceLogProbForward(new float[20], 1, 5, [0, 1, 7, 2], -100, new float[4], new float[4], new float[1], new float[1]));
        Assert.Contains("target 7", e.Message);
        Assert.Contains("t=2", e.Message);
        var e2 = Assert.Throws<ArgumentException>(() => SequenceLogProbKernels.SequenceLogProbForward(new float[25], 1, 5, [0, 1, 2, 3], -100, new float[4], new float[4], new float[1], new float[1]));
        Assert.Contains("aligned", e2.Message);
    }
}
