namespace Distill.Evaluation.Code;

/// <summary>
/// The unbiased pass@k estimator of Chen et al. 2021 (Codex paper, eq. 1):
///   pass@k = E_tasks[ 1 − C(n−c, k) / C(n, k) ]
/// computed in the stable product form 1 − Π_{i=n−c+1..n} (1 − k/i), which equals it and never
/// forms the huge binomials; 1 when n − c &lt; k (every k-subset holds a pass).
/// Example: n = 5, c = 2, k = 1 → 1 − (1 − 1/4)(1 − 1/5) = 0.4 = c/n.
/// </summary>
public static class PassAtK
{
    public static readonly int[] DefaultKs = [1, 10, 100];

    public static double Estimate(int n, int c, int k)
    {
        if (n < 1 || c < 0 || c > n || k < 1) throw new ArgumentOutOfRangeException(nameof(n), $"need n ≥ 1, 0 ≤ c ≤ n, k ≥ 1 (n={n}, c={c}, k={k})");
        if (k > n) throw new ArgumentOutOfRangeException(nameof(k), $"pass@{k} needs at least {k} samples per task, got {n}");
        if (n - c < k) return 1.0;
        double prod = 1.0;
        for (int i = n - c + 1; i <= n; i++) prod *= 1.0 - (double)k / i;
        return 1.0 - prod;
    }

    /// <summary>Mean pass@k over tasks for each k that every task has enough samples for (as human-eval reports).</summary>
    public static Dictionary<int, double> Mean(IReadOnlyList<(int N, int C)> tasks, IEnumerable<int>? ks = null)
    {
        var result = new Dictionary<int, double>();
        if (tasks.Count == 0) return result;
        int minN = tasks.Min(t => t.N);
        foreach (var k in ks ?? DefaultKs)
            if (k <= minN) result[k] = tasks.Average(t => Estimate(t.N, t.C, k));
        return result;
    }
}
