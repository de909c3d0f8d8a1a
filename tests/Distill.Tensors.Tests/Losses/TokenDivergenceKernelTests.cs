using Distill.Tensors.Kernels.Losses;
using Distill.Tensors.Threading;

namespace Distill.Tensors.Tests.Losses;

/// <summary>
/// Token divergences against <see cref="LossReference"/> (double, written from the definitions) for
/// every kind, temperature 1 and 2, every Vector256 tail length; gradients against central
/// differences of that double reference. Golden values from torch are checked in
/// Distill.Training.Tests (LossGoldenTests).
/// </summary>
public class TokenDivergenceKernelTests
{
    public static TheoryData<DivergenceKind, float> Kinds()
    {
        var d = new TheoryData<DivergenceKind, float>();
        foreach (var k in Enum.GetValues<DivergenceKind>()) { d.Add(k, 1f); d.Add(k, 2f); }
        return d;
    }

    static DivergenceOptions Opts(DivergenceKind k, float tau) => new(k, tau, Beta: 0.3f, Alpha: 0.1f);

    // Tolerance 2e-5 of the vector's magnitude: inputs are |x/τ| ≲ 8, so log p = x/τ − lse carries
    // ≈ 8·6e-8·(a few roundings) ≈ 1e-6 absolute error and Vector256.Exp/Log add ≲ 4 ulp; a row sums
    // ≤ 250 such terms in float with 2 accumulators. Observed errors are ≈ 1e-6 relative; a wrong
    // term (sign, factor, missing ½) is ≥ 1e-2 relative, so 2e-5 both holds and catches it.
    const double Tol = 2e-5;

    [Theory]
    [MemberData(nameof(Kinds))]
    public void ForwardAndBackwardMatchDoubleReferenceForEveryTailLength(DivergenceKind kind, float tau)
    {
        var o = Opts(kind, tau);
        foreach (int v in LossCheck.Widths())
        {
            var rng = new Random(1000 * v + (int)kind);
            const int rows = 3;
            int[] labels = [4, -100, 0];   // row 1 ignored, as HF/TRL labels == -100
            var teacher = LossCheck.Normal(rng, rows * v, 2.0);
            var student = LossCheck.Normal(rng, rows * v, 1.5);
            var rowLoss = new float[rows];
            var saved = new float[3 * rows];
            float mean = TokenDivergenceKernels.TokenDivergenceForward(o, teacher, student, v, labels, -100, rowLoss, saved);
            double expected = LossReference.MeanDivergence(o, teacher, student, v, labels);
            LossCheck.Close($"{kind} τ={tau} V={v} loss", mean, expected, Tol);
            Assert.Equal(0f, rowLoss[1]);

            // backward with an upstream gradient ≠ 1 (it must scale), into a buffer that already holds values (it must add)
            const float dLoss = 0.75f;
            var dStudent = Enumerable.Repeat(0.5f, rows * v).ToArray();
            TokenDivergenceKernels.TokenDivergenceBackward(o, teacher, student, v, labels, -100, saved, dLoss, dStudent);
            int sampled = v <= 40 ? rows * v : 0;   // FD over every coordinate of the small widths
            if (sampled > 0)
            {
                var num = LossCheck.Gradient(student, s => dLoss * MeanDivergenceD(o, teacher, s, v, labels));
                for (int i = 0; i < num.Length; i++) num[i] += 0.5;
                LossCheck.Close($"{kind} τ={tau} V={v} dStudent", dStudent, num, Tol);
            }
            for (int j = 0; j < v; j++) Assert.Equal(0.5f, dStudent[v + j]);   // ignored row untouched

            // in place: the gradient written over the student logits equals the one added into zeros, bit for bit,
            // and the ignored row becomes 0
            var added = new float[rows * v];
            TokenDivergenceKernels.TokenDivergenceBackward(o, teacher, student, v, labels, -100, saved, dLoss, added);
            var inPlace = (float[])student.Clone();
            TokenDivergenceKernels.TokenDivergenceBackward(o, teacher, inPlace, v, labels, -100, saved, dLoss, inPlace, overwrite: true);
            for (int i = 0; i < added.Length; i++) Assert.Equal(added[i] + 0f, inPlace[i] + 0f);   // + 0 folds −0 into +0
        }
    }

    /// <summary>The double reference as a function of double student logits (for finite differences without float rounding of the step).</summary>
    static double MeanDivergenceD(DivergenceOptions o, float[] teacher, double[] student, int v, int[] labels)
    {
        int rows = student.Length / v, kept = 0;
        double sum = 0;
        for (int r = 0; r < rows; r++)
        {
            if (labels[r] == -100) continue;
            kept++;
            var lp = LossReference.LogSoftmax(teacher.AsSpan(r * v, v), o.Temperature);
            var lq = LossReference.LogSoftmax(student.AsSpan(r * v, v), o.Temperature);
            sum += LossReference.Divergence(o, lp, lq);
        }
        return sum / kept;
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void StudentEqualToTeacherGivesZero(DivergenceKind kind, float tau)
    {
        var o = Opts(kind, tau);
        var rng = new Random(7);
        const int rows = 4, v = 301;
        var t = LossCheck.Normal(rng, rows * v, 3.0);
        var rowLoss = new float[rows]; var saved = new float[3 * rows];
        float loss = TokenDivergenceKernels.TokenDivergenceForward(o, t, t, v, default, -100, rowLoss, saved);
        var d = new float[rows * v];
        TokenDivergenceKernels.TokenDivergenceBackward(o, t, t, v, default, -100, saved, 1f, d);
        if (kind == DivergenceKind.SkewForwardKl)
        {
            // −Σ p log(αp + (1−α)p) = H(p): DistiLLM's cross-entropy form; the gradient still vanishes
            double h = 0;
            for (int r = 0; r < rows; r++) foreach (double lp in LossReference.LogSoftmax(t.AsSpan(r * v, v), tau)) h -= Math.Exp(lp) * lp;
            LossCheck.Close("skew forward KL at q = p", loss, h / rows, 1e-5);
        }
        else Assert.True(Math.Abs(loss) < 1e-6, $"{kind}: {loss} at q = p");
        // the gradient at the minimum is 0 up to float rounding of q·(…) terms (q ≤ 1, terms O(1))
        Assert.True(d.All(g => Math.Abs(g) < 1e-6), $"{kind}: max |grad| {d.Max(Math.Abs)} at q = p");
    }

    [Theory]
    [InlineData(DivergenceKind.Tvd, 0.5f)]
    [InlineData(DivergenceKind.Jsd, 0.5f)]
    public void SymmetricDivergencesAreSymmetric(DivergenceKind kind, float beta)
    {
        var o = new DivergenceOptions(kind, 1.3f, Beta: beta);
        var rng = new Random(11);
        const int rows = 5, v = 77;
        var a = LossCheck.Normal(rng, rows * v, 2); var b = LossCheck.Normal(rng, rows * v, 2);
        float ab = TokenDivergenceKernels.TokenDivergenceForward(o, a, b, v, default, -100, new float[rows], new float[3 * rows]);
        float ba = TokenDivergenceKernels.TokenDivergenceForward(o, b, a, v, default, -100, new float[rows], new float[3 * rows]);
        Assert.True(ab > 1e-3);
        LossCheck.Close($"{kind}(a,b) vs (b,a)", ab, ba, 1e-5);
        // and the forward KL is NOT symmetric: the test above could fail
        var fkl = new DivergenceOptions(DivergenceKind.ForwardKl, 1.3f);
        float f1 = TokenDivergenceKernels.TokenDivergenceForward(fkl, a, b, v, default, -100, new float[rows], new float[3 * rows]);
        float f2 = TokenDivergenceKernels.TokenDivergenceForward(fkl, b, a, v, default, -100, new float[rows], new float[3 * rows]);
        Assert.True(Math.Abs(f1 - f2) > 1e-3);
    }

    [Fact]
    public void TvdIsAtMostOneAndReachesItOnDisjointSupports()
    {
        const int v = 40;
        var t = new float[v]; var s = new float[v];
        for (int j = 0; j < v; j++) { t[j] = j < 20 ? 60f : -60f; s[j] = j < 20 ? -60f : 60f; }
        var o = new DivergenceOptions(DivergenceKind.Tvd);
        float tvd = TokenDivergenceKernels.TokenDivergenceForward(o, t, s, v, default, -100, new float[1], new float[3]);
        Assert.InRange(tvd, 1f - 1e-5f, 1f + 1e-6f);
        var rng = new Random(3);
        for (int trial = 0; trial < 20; trial++)
        {
            var a = LossCheck.Normal(rng, 4 * v, 10); var b = LossCheck.Normal(rng, 4 * v, 10);
            float x = TokenDivergenceKernels.TokenDivergenceForward(o, a, b, v, default, -100, new float[4], new float[12]);
            Assert.InRange(x, 0f, 1f + 1e-6f);
        }
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void ExtremeLogitsStayFinite(DivergenceKind kind, float tau)
    {
        // logits far apart (±3e4) make exp underflow to 0 in the linear domain: a log(0) would give NaN/∞
        const int v = 29;
        var t = new float[v]; var s = new float[v];
        for (int j = 0; j < v; j++) { t[j] = j == 3 ? 3e4f : -3e4f; s[j] = j == 17 ? 3e4f : (j % 2 == 0 ? -3e4f : 0f); }
        var o = Opts(kind, tau);
        var saved = new float[3];
        float loss = TokenDivergenceKernels.TokenDivergenceForward(o, t, s, v, default, -100, new float[1], saved);
        var d = new float[v];
        TokenDivergenceKernels.TokenDivergenceBackward(o, t, s, v, default, -100, saved, 1f, d);
        Assert.True(float.IsFinite(loss), $"{kind}: loss {loss}");
        Assert.True(d.All(float.IsFinite), $"{kind}: non-finite gradient");
    }

    [Fact]
    public void BadInputGetsClearErrors()
    {
        var o = new DivergenceOptions(DivergenceKind.ForwardKl);
        var e = Assert.Throws<ArgumentException>(() => TokenDivergenceKernels.CheckSameVocabulary(50257, 32000));
        Assert.Contains("50257", e.Message);
        Assert.Contains("vocabulary", e.Message);
        e = Assert.Throws<ArgumentException>(() => TokenDivergenceKernels.TokenDivergenceForward(o, new float[12], new float[8], 4, default, -100, new float[2], new float[6]));
        Assert.Contains("vocabulary", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => TokenDivergenceKernels.TokenDivergenceForward(o, new float[0], new float[0], 0, default, -100, new float[0], new float[0]));
        Assert.Throws<ArgumentOutOfRangeException>(() => new DivergenceOptions(DivergenceKind.Jsd, Beta: 0f).Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new DivergenceOptions(DivergenceKind.Tvd, Temperature: 0f).Validate());
        Assert.Throws<ArgumentException>(() => TokenDivergenceKernels.TokenDivergenceForward(o, new float[8], new float[8], 4, [1, 2, 3], -100, new float[2], new float[6]));
    }

    [Fact]
    public void AllRowsIgnoredGivesZeroAndNoGradient()
    {
        var o = new DivergenceOptions(DivergenceKind.ReverseKl);
        var rng = new Random(9);
        var t = LossCheck.Normal(rng, 10); var s = LossCheck.Normal(rng, 10);
        var saved = new float[6];
        Assert.Equal(0f, TokenDivergenceKernels.TokenDivergenceForward(o, t, s, 5, [-100, -100], -100, new float[2], saved));
        var d = new float[10];
        TokenDivergenceKernels.TokenDivergenceBackward(o, t, s, 5, [-100, -100], -100, saved, 1f, d);
        Assert.All(d, g => Assert.Equal(0f, g));
    }
}

/// <summary>Changes the process-wide <see cref="Workers.Count"/>, so it runs alone (after the parallel tests), never beside a test that reads it.</summary>
[CollectionDefinition("Workers.Count", DisableParallelization = true)]
public class WorkersCountCollection;

[Collection("Workers.Count")]
public class LossKernelThreadingTests
{
    [Fact]
    public void ResultsDoNotDependOnTheThreadCount()
    {
        var rng = new Random(5);
        const int rows = 64, v = 4099;   // MinRows(4099) = 7 → several chunks with 2 threads
        var t = LossCheck.Normal(rng, rows * v, 2); var s = LossCheck.Normal(rng, rows * v, 2);
        var o = new DivergenceOptions(DivergenceKind.Jsd, 2f, Beta: 0.5f);
        int before = Workers.Count;
        try
        {
            (float, float[]) Run(int threads)
            {
                Workers.Count = threads;
                var saved = new float[3 * rows];
                float l = TokenDivergenceKernels.TokenDivergenceForward(o, t, s, v, default, -100, new float[rows], saved);
                var d = new float[rows * v];
                TokenDivergenceKernels.TokenDivergenceBackward(o, t, s, v, default, -100, saved, 1f, d);
                return (l, d);
            }
            var (l1, d1) = Run(1);
            var (l2, d2) = Run(2);
            Assert.Equal(l1, l2);
            Assert.Equal(d1, d2);
        }
        finally { Workers.Count = before; }
    }
}
