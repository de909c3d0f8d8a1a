using Distill.Tensors.Kernels.Losses;

namespace Distill.Tensors.Tests.Losses;

/// <summary>Softmax and log-softmax with temperature against the double reference, every tail length; gradients by central differences in double.</summary>
public class SoftmaxKernelTests
{
    // 1e-5 of the vector's magnitude: one exp/log (≤ 4 ulp) after x/τ − lse with |x/τ| ≲ 6 (≈ 1e-6
    // absolute in log space); the backward adds one float dot product over ≤ 250 terms. A wrong
    // 1/τ factor or a missing Σ term is an O(1) relative error.
    const double Tol = 1e-5;

    [Theory]
    [InlineData(false, 1f)]
    [InlineData(false, 0.5f)]
    [InlineData(true, 1f)]
    [InlineData(true, 2.5f)]
    public void MatchesDoubleReferenceForEveryTailLength(bool log, float tau)
    {
        foreach (int v in LossCheck.Widths())
        {
            var rng = new Random(v * 31 + (log ? 1 : 0));
            const int rows = 3;
            var x = LossCheck.Normal(rng, rows * v, 3);
            var dy = LossCheck.Normal(rng, rows * v);
            var y = new float[rows * v];
            if (log) SoftmaxKernels.LogSoftmaxForward(x, v, tau, y); else SoftmaxKernels.SoftmaxForward(x, v, tau, y);
            var expected = new double[rows * v];
            for (int r = 0; r < rows; r++)
            {
                var ls = LossReference.LogSoftmax(x.AsSpan(r * v, v), tau);
                for (int j = 0; j < v; j++) expected[r * v + j] = log ? ls[j] : Math.Exp(ls[j]);
            }
            LossCheck.Close($"{(log ? "log-softmax" : "softmax")} V={v} y", y, expected, Tol);

            // backward of L = Σ y·dy, added onto a non-zero buffer
            var dx = Enumerable.Repeat(-0.25f, rows * v).ToArray();
            if (log) SoftmaxKernels.LogSoftmaxBackward(y, dy, v, tau, dx); else SoftmaxKernels.SoftmaxBackward(y, dy, v, tau, dx);
            if (v > 40) continue;   // FD on the tail widths; wider rows are covered by the forward check and golden tests
            var num = LossCheck.Gradient(x, xd =>
            {
                double s = 0;
                for (int r = 0; r < rows; r++)
                {
                    var ls = LossReference.LogSoftmax(xd.AsSpan(r * v, v), tau);
                    for (int j = 0; j < v; j++) s += (log ? ls[j] : Math.Exp(ls[j])) * dy[r * v + j];
                }
                return s;
            });
            for (int i = 0; i < num.Length; i++) num[i] -= 0.25;
            LossCheck.Close($"{(log ? "log-softmax" : "softmax")} V={v} dx", dx, num, Tol);
        }
    }

    [Fact]
    public void HugeLogitsDoNotOverflow()
    {
        float[] x = [1e30f, 1e30f, -1e30f, 0f];
        var y = new float[4];
        SoftmaxKernels.SoftmaxForward(x, 4, 1f, y);
        // lse = 1e30 + ln 2 rounds to 1e30 in float; the kernel keeps max and log Σ apart so ½ survives
        Assert.Equal(0.5f, y[0], 6); Assert.Equal(0.5f, y[1], 6); Assert.Equal(0f, y[2]); Assert.Equal(0f, y[3]);
        SoftmaxKernels.LogSoftmaxForward(x, 4, 1f, y);
        Assert.Equal(-MathF.Log(2f), y[0], 6);
        Assert.True(float.IsNegative(y[2]) && !float.IsNaN(y[2]));
    }

    [Fact]
    public void BadShapesAreRejected()
    {
        Assert.Throws<ArgumentException>(() => SoftmaxKernels.SoftmaxForward(new float[10], 4, 1f, new float[10]));
        Assert.Throws<ArgumentOutOfRangeException>(() => SoftmaxKernels.SoftmaxForward(new float[8], 0, 1f, new float[8]));
        Assert.Throws<ArgumentOutOfRangeException>(() => SoftmaxKernels.SoftmaxForward(new float[8], 4, -1f, new float[8]));
        Assert.Throws<ArgumentException>(() => SoftmaxKernels.LogSoftmaxBackward(new float[8], new float[8], 4, 1f, new float[4]));
    }
}
