namespace Distill.Tensors.Kernels.Losses;

/// <summary>
/// Double-precision scalar references of the loss kernels, written straight from the definitions
/// (REFERENCE.md) without the kernels' fusions (no saved c, no log-domain tricks beyond the max
/// shift). The tests compare the SIMD kernels with these and finite-difference these in double.
/// Slow by design; never used on a hot path.
/// </summary>
public static class LossReference
{
    /// <summary>log softmax(row/τ) in double.</summary>
    public static double[] LogSoftmax(ReadOnlySpan<float> row, double temperature)
    {
        var d = new double[row.Length];
        for (int j = 0; j < row.Length; j++) d[j] = row[j];
        return LogSoftmax(d, temperature);
    }

    /// <summary>log softmax(row/τ) of a double row (finite differences perturb doubles, so the step is not rounded to float).</summary>
    public static double[] LogSoftmax(ReadOnlySpan<double> row, double temperature)
    {
        double max = double.NegativeInfinity;
        foreach (double v in row) max = Math.Max(max, v / temperature);
        double s = 0;
        foreach (double v in row) s += Math.Exp(v / temperature - max);
        double lse = max + Math.Log(s);
        var y = new double[row.Length];
        for (int j = 0; j < row.Length; j++) y[j] = row[j] / temperature - lse;
        return y;
    }

    /// <summary>One row's divergence between teacher and student logit rows, from the definition.</summary>
    public static double Divergence(DivergenceOptions o, ReadOnlySpan<float> teacher, ReadOnlySpan<float> student)
        => Divergence(o, LogSoftmax(teacher, o.Temperature), LogSoftmax(student, o.Temperature));

    /// <summary>One row's divergence from the teacher's and student's log-probabilities (already temperature-scaled).</summary>
    public static double Divergence(DivergenceOptions o, ReadOnlySpan<double> lp, ReadOnlySpan<double> lq)
    {
        double beta = o.Beta, a = o.Alpha, sum = 0;
        for (int j = 0; j < lp.Length; j++)
        {
            double p = Math.Exp(lp[j]), q = Math.Exp(lq[j]);
            sum += o.Kind switch
            {
                DivergenceKind.ForwardKl => p * (lp[j] - lq[j]),
                DivergenceKind.ReverseKl => q * (lq[j] - lp[j]),
                DivergenceKind.Jsd => Jsd(p, q, lp[j], lq[j], beta),
                DivergenceKind.Tvd => 0.5 * Math.Abs(p - q),
                DivergenceKind.SkewForwardKl => -p * Math.Log(a * p + (1 - a) * q),
                DivergenceKind.SkewReverseKl => q * (lq[j] - Math.Log((1 - a) * p + a * q)),
                _ => throw new ArgumentOutOfRangeException(nameof(o)),
            };
        }
        return sum;
    }

    static double Jsd(double p, double q, double lp, double lq, double beta)
    {
        double lm = Math.Log(beta * p + (1 - beta) * q);
        return beta * p * (lp - lm) + (1 - beta) * q * (lq - lm);
    }

    /// <summary>Mean divergence over kept rows (labels ≠ ignoreIndex; empty labels keep every row).</summary>
    public static double MeanDivergence(DivergenceOptions o, ReadOnlySpan<float> teacher, ReadOnlySpan<float> student, int vocab, ReadOnlySpan<int> labels, int ignoreIndex = -100)
    {
        int rows = student.Length / vocab, kept = 0;
        double sum = 0;
        for (int r = 0; r < rows; r++)
        {
            if (!labels.IsEmpty && labels[r] == ignoreIndex) continue;
            kept++;
            sum += Divergence(o, teacher.Slice(r * vocab, vocab), student.Slice(r * vocab, vocab));
        }
        return kept == 0 ? 0 : sum / kept;
    }

    /// <summary>Per-sequence (sum, mean) of target log-probabilities over kept tokens; logits (B, T, V) aligned with targets (B, T).</summary>
    public static (double[] Sum, double[] Mean) SequenceLogProb(ReadOnlySpan<float> logits, int batch, int vocab, ReadOnlySpan<int> targets, int ignoreIndex = -100)
    {
        int seqLen = targets.Length / batch;
        var sum = new double[batch]; var mean = new double[batch];
        for (int b = 0; b < batch; b++)
        {
            int n = 0;
            for (int t = 0; t < seqLen; t++)
            {
                int r = b * seqLen + t;
                if (targets[r] == ignoreIndex) continue;
                sum[b] += LogSoftmax(logits.Slice(r * vocab, vocab), 1.0)[targets[r]];
                n++;
            }
            mean[b] = n == 0 ? 0 : sum[b] / n;
        }
        return (sum, mean);
    }
}
