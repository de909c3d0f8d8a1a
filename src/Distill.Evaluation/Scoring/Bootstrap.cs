namespace Distill.Evaluation.Scoring;

/// <summary>A mean over problems with its 95% percentile-bootstrap interval (resampling problems, seeded).</summary>
public readonly record struct MeanInterval(double Mean, double Low, double High, int N);

public static class Bootstrap
{
    /// <summary>
    /// The mean of per-problem values and the 2.5/97.5 percentiles of the means of <paramref name="resamples"/> resamples
    /// of the problems with replacement (Efron's percentile interval), as the papers' "±" over test problems. Seeded, so a
    /// rerun prints the same interval.
    /// </summary>
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
        return new(mean, means[(int)Math.Floor(0.025 * (resamples - 1))], means[(int)Math.Ceiling(0.975 * (resamples - 1))], n);
    }
}
