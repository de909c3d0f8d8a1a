namespace Distill.Evaluation.Scoring;

/// <summary>A mean over problems with its 95% percentile-bootstrap interval (resampling problems, seeded).</summary>
public readonly record struct MeanInterval(double Mean, double Low, double High, int N);

/// <summary>
/// 95% percentile-bootstrap intervals over test problems (Efron &amp; Tibshirani 1993, §13.3): the problems are resampled
/// with replacement, the mean recomputed, and the 2.5th and 97.5th percentiles (interpolated) kept — the papers' "±"
/// over test problems. Seeded, so a rerun prints the same interval. The eval stage and the demo both use it.
/// </summary>
public static class Bootstrap
{
    public static MeanInterval Mean(IReadOnlyList<double> values, int seed = 1234, int resamples = 2000)
    {
        int n = values.Count;
        if (n == 0) return new(double.NaN, double.NaN, double.NaN, 0);
        double mean = values.Average();
        var rng = new Random(seed);
        var means = new double[resamples];
        for (int r = 0; r < resamples; r++)
        {
            double s = 0;
            for (int i = 0; i < n; i++) s += values[rng.Next(n)];
            means[r] = s / n;
        }
        Array.Sort(means);
        return new(mean, Percentile(means, 0.025), Percentile(means, 0.975), n);
    }

    /// <summary>The mean of (a − b) per problem with its interval, the same problems on both sides: whether a beat b beyond noise.</summary>
    public static MeanInterval PairedDifference(IReadOnlyList<double> a, IReadOnlyList<double> b, int seed = 1234, int resamples = 2000)
    {
        if (a.Count != b.Count) throw new ArgumentException($"paired bootstrap: {a.Count} vs {b.Count} problems");
        return Mean(a.Zip(b, (x, y) => x - y).ToList(), seed, resamples);
    }

    static double Percentile(double[] sorted, double q)
    {
        double pos = q * (sorted.Length - 1);
        int lo = (int)Math.Floor(pos), hi = (int)Math.Ceiling(pos);
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
    }
}
