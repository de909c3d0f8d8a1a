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

    static Estimate Of(Scores.MeanInterval m) => new(m.Mean, m.Low, m.High, m.N);
}
