using Distill.Evaluation.Code;

namespace Distill.Evaluation.Tests;

public class PassAtKTests
{
    static double Binomial(int n, int k)
    {
        double r = 1;
        for (int i = 1; i <= k; i++) r = r * (n - k + i) / i;
        return r;
    }

    [Fact]
    public void ProductFormEqualsTheBinomialDefinition()
    {
        foreach (var n in new[] { 1, 5, 10, 20, 50 })
            for (int c = 0; c <= n; c++)
                foreach (var k in new[] { 1, 2, 5, 10 })
                {
                    if (k > n) continue;
                    double exact = n - c < k ? 1 : 1 - Binomial(n - c, k) / Binomial(n, k);
                    Assert.Equal(exact, PassAtK.Estimate(n, c, k), 12);
                }
    }

    [Fact]
    public void KnownValues()
    {
        Assert.Equal(0.4, PassAtK.Estimate(5, 2, 1), 12);            // c/n for k = 1
        Assert.Equal(1.0, PassAtK.Estimate(10, 1, 10));              // one pass among all 10
        Assert.Equal(0.0, PassAtK.Estimate(200, 0, 100));
        Assert.InRange(PassAtK.Estimate(200, 1, 100), 0.5 - 1e-12, 0.5 + 1e-12); // 1 − C(199,100)/C(200,100) = 100/200
        Assert.Throws<ArgumentOutOfRangeException>(() => PassAtK.Estimate(5, 2, 10));
    }

    [Fact]
    public void MeanReportsOnlyKsEveryTaskSupports()
    {
        var m = PassAtK.Mean([(10, 5), (10, 0)]);
        Assert.Equal([1, 10], m.Keys.Order().ToArray());
        Assert.Equal(0.25, m[1], 12);
        Assert.Equal(0.5, m[10], 12);
    }
}
