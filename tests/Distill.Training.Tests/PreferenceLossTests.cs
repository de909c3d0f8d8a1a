using Distill.Training.Losses;

namespace Distill.Training.Tests;

/// <summary>Invariants of the preference losses and their gradients by central differences.</summary>
public class PreferenceLossTests
{
    static readonly float[] Pc = [-41.2f, -38.0f, -55.5f, -12.25f], Pr = [-44.0f, -37.5f, -60.0f, -15.0f];
    static readonly float[] Rc = [-40.0f, -39.5f, -50.0f, -13.0f], Rr = [-42.5f, -36.0f, -61.0f, -14.0f];

    [Theory]
    [InlineData(0.1f, 0f, DpoVariant.Sigmoid)]
    [InlineData(0.5f, 0.2f, DpoVariant.Sigmoid)]
    [InlineData(0.1f, 0.3f, DpoVariant.Robust)]
    public void DpoIsLn2WhenPolicyEqualsReference(float beta, float eps, DpoVariant variant)
    {
        var dc = new float[4]; var dr = new float[4];
        var res = DpoLoss.Compute(Pc, Pr, Pc, Pr, new DpoOptions(beta, eps, variant), dc, dr);
        Assert.Equal(Math.Log(2), res.Loss, 6);
        Assert.Equal(0f, res.Metrics.RewardsMargins);
        Assert.Equal(0f, res.Metrics.RewardsAccuracies);   // β·c > β·r is false on ties, as TRL counts it
        // at Δ = 0 the plain DPO gradient is −β/2 per pair on chosen (·1/B for the mean)
        if (eps == 0) Assert.All(dc, g => Assert.Equal(-beta / 2 / 4, g, 6));
    }

    [Theory]
    [InlineData("dpo")]
    [InlineData("dpo-smooth")]
    [InlineData("robust")]
    [InlineData("ipo")]
    [InlineData("hinge")]
    [InlineData("plad-ranking")]
    [InlineData("plad-margin")]
    public void GradientsMatchCentralDifferences(string loss)
    {
        // scaled so every hinge sits ≥ 0.02 (twice the step h) from its kink: pairs stay active or inactive under ±h
        float[] pc = Pc.Select(x => x / 20).ToArray(), pr = Pr.Select(x => x / 20).ToArray();
        float[] rc = Rc.Select(x => x / 20).ToArray(), rr = Rr.Select(x => x / 20).ToArray();
        float[] sc = [0.9f, 0.2f, 0.6f, 0.5f], sr = [0.1f, 0.4f, 0.5f, 0.9f];
        float Eval(float[] a, float[] b, float[] da, float[] db) => loss switch
        {
            "dpo" => DpoLoss.Compute(a, b, rc, rr, new DpoOptions(0.5f), da, db).Loss,
            "dpo-smooth" => DpoLoss.Compute(a, b, rc, rr, new DpoOptions(0.5f, 0.2f), da, db).Loss,
            "robust" => DpoLoss.Compute(a, b, rc, rr, new DpoOptions(0.5f, 0.2f, DpoVariant.Robust), da, db).Loss,
            "ipo" => IpoLoss.Compute(a, b, rc, rr, 0.5f, da, db).Loss,
            "hinge" => HingeLoss.Compute(a, b, rc, rr, 2f, da, db).Loss,
            "plad-ranking" => PladRankingLoss.Compute(a, b, 0.2f, da, db).Loss,
            _ => PladMarginLoss.Compute(a, b, sc, sr, 0.5f, da, db).Loss,
        };
        var dc = new float[4]; var dr = new float[4];
        Eval(pc, pr, dc, dr);
        Assert.Contains(dc, g => g != 0f);
        // h = 1e-2 in float32: loss rounding ≈ 1e-7/2h = 5e-6, truncation ≈ h²·|L'''| ≤ 1e-4 for these
        // smooth losses (0 for the piecewise-linear ones away from kinks); 5e-4 absolute holds with margin
        // while a wrong β, a missing 1/B or a sign error is ≥ 1e-2.
        const float h = 1e-2f;
        var scratch = new float[4];
        foreach (bool chosen in new[] { true, false })
            for (int i = 0; i < 4; i++)
            {
                var x = chosen ? pc : pr;
                float o = x[i];
                x[i] = o + h; float lp = Eval(pc, pr, scratch, scratch);
                x[i] = o - h; float lm = Eval(pc, pr, scratch, scratch);
                x[i] = o;
                float num = (lp - lm) / (2 * h), ana = chosen ? dc[i] : dr[i];
                Assert.True(Math.Abs(num - ana) <= 5e-4, $"{loss} d{(chosen ? "chosen" : "rejected")}[{i}]: numeric {num} vs analytic {ana}");
            }
    }

    [Fact]
    public void IpoGradientPushesTheMarginTowardsOneOverTwoBeta()
    {
        const float beta = 0.5f;   // target margin 1/(2β) = 1
        float[] zero = [0f];
        var dc = new float[1]; var dr = new float[1];
        // margin 0.25 < 1: raising the chosen log-prob lowers the loss → dL/dπc < 0, dL/dπr > 0
        IpoLoss.Compute([0.25f], zero, zero, zero, beta, dc, dr);
        Assert.True(dc[0] < 0 && dr[0] > 0);
        // margin 3 > 1: unlike DPO, IPO pulls the margin back
        dc[0] = dr[0] = 0;
        IpoLoss.Compute([3f], zero, zero, zero, beta, dc, dr);
        Assert.True(dc[0] > 0 && dr[0] < 0);
        // exactly at the target: loss 0, gradient 0
        dc[0] = dr[0] = 0;
        var res = IpoLoss.Compute([1f], zero, zero, zero, beta, dc, dr);
        Assert.Equal(0f, res.Loss);
        Assert.Equal(0f, dc[0]);
    }

    [Fact]
    public void HingeLossesAreZeroPastTheirMargin()
    {
        var dc = new float[2]; var dr = new float[2];
        // β·Δ = 0.1·(15 − (−5)) = 2 ≥ 1 for both pairs → no loss, no gradient
        var res = HingeLoss.Compute([-10f, -20f], [-30f, -40f], [-25f, -35f], [-25f, -35f], 0.1f, dc, dr);
        Assert.Equal(0f, res.Loss);
        Assert.All(dc.Concat(dr), g => Assert.Equal(0f, g));
        Assert.Equal(1f, res.Metrics.RewardsAccuracies);
        // PLaD ranking: ℓ⁺ − ℓ⁻ = 0.6 ≥ δ = 0.5 → zero; below the margin it is δ − (ℓ⁺ − ℓ⁻)
        res = PladRankingLoss.Compute([-1.0f, -1.0f], [-1.6f, -1.2f], 0.5f, dc, dr);
        Assert.Equal(0.3f / 2, res.Loss, 6);
        Assert.Equal(0f, dc[0]); Assert.Equal(-0.5f, dc[1]); Assert.Equal(0.5f, dr[1]);
        // PLaD margin: equal scores make the required margin 0
        Array.Clear(dc); Array.Clear(dr);
        res = PladMarginLoss.Compute([-1f], [-1.1f], [0.7f], [0.7f], 10f, dc.AsSpan(0, 1), dr.AsSpan(0, 1));
        Assert.Equal(0f, res.Loss);
    }

    [Fact]
    public void GradientsAccumulateIntoTheBuffers()
    {
        var dc = new float[4]; var dr = new float[4];
        DpoLoss.Compute(Pc, Pr, Rc, Rr, new DpoOptions(), dc, dr);
        var once = dc.ToArray();
        DpoLoss.Compute(Pc, Pr, Rc, Rr, new DpoOptions(), dc, dr);
        for (int i = 0; i < 4; i++) Assert.Equal(2 * once[i], dc[i], 6);
    }

    [Fact]
    public void MetricsFollowTrl()
    {
        var res = DpoLoss.Compute(Pc, Pr, Rc, Rr, new DpoOptions(0.1f), new float[4], new float[4]);
        var m = res.Metrics;
        // c = πc − rc = [−1.2, 1.5, −5.5, 0.75], r = πr − rr = [−1.5, −1.5, 1, −1]
        Assert.Equal(0.1 * (-1.2 + 1.5 - 5.5 + 0.75) / 4, m.RewardsChosen, 5);
        Assert.Equal(0.1 * (-1.5 - 1.5 + 1 - 1) / 4, m.RewardsRejected, 5);
        Assert.Equal(m.RewardsChosen - m.RewardsRejected, m.RewardsMargins, 6);
        Assert.Equal(0.75f, m.RewardsAccuracies);   // pairs 0, 1, 3 have c > r
        Assert.Equal(Pc.Average(), m.LogpsChosen, 4);
        Assert.Equal(["rewards/chosen", "rewards/rejected", "rewards/margins", "rewards/accuracies", "logps/chosen", "logps/rejected"], m.ToDictionary().Keys);
    }

    [Fact]
    public void BadInputGetsClearErrors()
    {
        var d = new float[4];
        var e = Assert.Throws<ArgumentException>(() => DpoLoss.Compute(Pc, Pr.AsSpan(0, 3), Rc, Rr, new DpoOptions(), d, d));
        Assert.Contains("3 rejected", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => DpoLoss.Compute(Pc, Pr, Rc, Rr, new DpoOptions(0.1f, 0.5f), d, d));
        Assert.Throws<ArgumentOutOfRangeException>(() => IpoLoss.Compute(Pc, Pr, Rc, Rr, 0f, d, d));
        Assert.Throws<ArgumentException>(() => DpoLoss.Compute([float.NaN], [0f], [0f], [0f], new DpoOptions(), new float[1], new float[1]));
        Assert.Throws<ArgumentException>(() => PladMarginLoss.Compute(Pc, Pr, [1f], [1f], 1f, d, d));
        Assert.Throws<ArgumentException>(() => HingeLoss.Compute([], [], [], [], 0.1f, [], []));
    }
}
