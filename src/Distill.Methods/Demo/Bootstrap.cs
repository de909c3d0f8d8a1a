using Distill.Report;
using Scores = Distill.Evaluation.Scoring;

namespace Distill.Methods.Demo;

/// <summary>The demo's intervals: <see cref="Scores.Bootstrap"/> as the report's <see cref="Estimate"/>.</summary>
public static class Bootstrap
{
    public static Estimate Mean(IReadOnlyList<double> perProblem, int resamples, int seed)
        => perProblem.Count == 0 ? new Estimate(double.NaN, null, null, 0) : Of(Scores.Bootstrap.Mean(perProblem, seed, resamples));

    public static Estimate PairedDifference(IReadOnlyList<double> a, IReadOnlyList<double> b, int resamples, int seed)
        => Of(Scores.Bootstrap.PairedDifference(a, b, seed, resamples));

    /// <summary>
    /// Share of the teacher−student gap a method closes, (m − s) / (t − s) of the mean pass@1s, with a 95% percentile
    /// interval from resampling test problems (the same problems for all three); null when the gap is under a point.
    /// Resamples whose gap vanishes (≤ 1e-9) are skipped.
    /// </summary>
    public static Estimate? GapShare(IReadOnlyList<double> m, IReadOnlyList<double> s, IReadOnlyList<double> t, int resamples, int seed)
    {
        int n = m.Count;
        if (n == 0 || s.Count != n || t.Count != n || t.Average() - s.Average() < 0.01) return null;
        var rng = new Random(seed);
        var shares = new List<double>(resamples);
        for (int r = 0; r < resamples; r++)
        {
            double sm = 0, ss = 0, st = 0;
            for (int i = 0; i < n; i++) { int j = rng.Next(n); sm += m[j]; ss += s[j]; st += t[j]; }
            if (Math.Abs(st - ss) > 1e-9) shares.Add((sm - ss) / (st - ss));
        }
        shares.Sort();
        double Q(double q) { double pos = q * (shares.Count - 1); int lo = (int)pos, hi = Math.Min(lo + 1, shares.Count - 1); return shares[lo] + (shares[hi] - shares[lo]) * (pos - lo); }
        return new Estimate((m.Average() - s.Average()) / (t.Average() - s.Average()), Q(0.025), Q(0.975), n);
    }

    static Estimate Of(Scores.MeanInterval m) => new(m.Mean, m.Low, m.High, m.N);
}
