namespace Distill.Evaluation.Judge;

/// <summary>A proportion with its 95 % confidence interval.</summary>
public readonly record struct Interval(double Value, double Low, double High);

/// <summary>
/// Win/tie/loss summary of pairwise outcomes (MT-Bench convention, Zheng et al. 2023):
/// win rate = wins / decided, adjusted win rate = (wins + ½ ties) / decided, where "decided"
/// counts wins, ties and losses; errors (unparseable judgments) are reported apart and excluded.
/// Intervals (95 %): Wilson score intervals for the win, tie and loss rates (binomial proportions;
/// well-behaved at 0 and 1 and for small n); a seeded percentile bootstrap (10,000 resamples of
/// the pairs) for the adjusted win rate, whose per-pair values 0, ½, 1 are not binomial.
/// </summary>
public sealed record WinRateSummary(int Wins, int Ties, int Losses, int Errors, Interval WinRate, Interval TieRate, Interval LossRate, Interval AdjustedWinRate)
{
    public int Decided => Wins + Ties + Losses;

    public static WinRateSummary From(IEnumerable<PairOutcome> outcomes, int seed = 1234)
    {
        var list = outcomes.ToList();
        int w = list.Count(o => o == PairOutcome.Win), t = list.Count(o => o == PairOutcome.Tie);
        int l = list.Count(o => o == PairOutcome.Loss), e = list.Count(o => o == PairOutcome.Error);
        int n = w + t + l;
        return new WinRateSummary(w, t, l, e, Wilson(w, n), Wilson(t, n), Wilson(l, n), Bootstrap(w, t, l, seed));
    }

    const double Z = 1.959963984540054; // two-sided 95 % normal quantile

    /// <summary>Wilson 1927: (p̂ + z²/2n ± z √(p̂(1−p̂)/n + z²/4n²)) / (1 + z²/n). NaN when n = 0.</summary>
    public static Interval Wilson(int k, int n)
    {
        if (n == 0) return new(double.NaN, double.NaN, double.NaN);
        double p = (double)k / n, z2 = Z * Z;
        double denom = 1 + z2 / n;
        double center = (p + z2 / (2 * n)) / denom;
        double half = Z * Math.Sqrt(p * (1 - p) / n + z2 / (4.0 * n * n)) / denom;
        return new(p, Math.Max(0, center - half), Math.Min(1, center + half));
    }

    /// <summary>Percentile bootstrap of (wins + ½ ties) / n, resampling the n decided pairs.</summary>
    public static Interval Bootstrap(int w, int t, int l, int seed, int resamples = 10_000)
    {
        int n = w + t + l;
        if (n == 0) return new(double.NaN, double.NaN, double.NaN);
        var rng = new Random(seed);
        var stats = new double[resamples];
        for (int r = 0; r < resamples; r++)
        {
            double sum = 0;
            for (int i = 0; i < n; i++)
            {
                int j = rng.Next(n); // index into the sorted outcome list: [0, w) wins, [w, w+t) ties
                sum += j < w ? 1 : j < w + t ? 0.5 : 0;
            }
            stats[r] = sum / n;
        }
        Array.Sort(stats);
        return new((w + 0.5 * t) / n, stats[(int)(0.025 * (resamples - 1))], stats[(int)Math.Ceiling(0.975 * (resamples - 1))]);
    }
}
