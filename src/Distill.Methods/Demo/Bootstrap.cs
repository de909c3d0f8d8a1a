using Distill.Report;

namespace Distill.Methods.Demo;

/// <summary>
/// 95% percentile-bootstrap intervals over test problems (Efron &amp; Tibshirani 1993, §13.3): the problems are resampled
/// with replacement, the statistic recomputed, and the 2.5th and 97.5th percentiles kept. Seeded, so a rerun gives the
/// same interval. Paired differences (method − student) resample the same problems on both sides.
/// </summary>
public static class Bootstrap
{
    public static Estimate Mean(IReadOnlyList<double> perProblem, int resamples, int seed)
    {
        if (perProblem.Count == 0) return new Estimate(double.NaN, null, null, 0);
        double mean = perProblem.Average();
        var rng = new Random(seed);
        var stats = new double[resamples];
        for (int r = 0; r < resamples; r++)
        {
            double s = 0;
            for (int i = 0; i < perProblem.Count; i++) s += perProblem[rng.Next(perProblem.Count)];
            stats[r] = s / perProblem.Count;
        }
        Array.Sort(stats);
        return new Estimate(mean, Percentile(stats, 0.025), Percentile(stats, 0.975), perProblem.Count);
    }

    /// <summary>The mean of (a − b) per problem with its interval: whether a method beat another beyond noise.</summary>
    public static Estimate PairedDifference(IReadOnlyList<double> a, IReadOnlyList<double> b, int resamples, int seed)
    {
        if (a.Count != b.Count) throw new ArgumentException($"paired bootstrap: {a.Count} vs {b.Count} problems");
        return Mean(a.Zip(b, (x, y) => x - y).ToList(), resamples, seed);
    }

    static double Percentile(double[] sorted, double q)
    {
        double pos = q * (sorted.Length - 1);
        int lo = (int)Math.Floor(pos), hi = (int)Math.Ceiling(pos);
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
    }
}
