using Distill.Tensors.Kernels.Losses;

namespace Distill.Tensors.Tests.Losses;

/// <summary>log-sigmoid, hinge and square: values against double formulas, gradients by central differences in double, stability at extremes.</summary>
public class PreferenceScalarKernelTests
{
    static readonly float[] X = [-30f, -4.5f, -1f, -0.3f, 0.2f, 0.9f, 3f, 25f];

    // float32 evaluation of one exp/log1p: ≤ 1e-6 relative; 1e-6 of (|y| + max|y|) holds with margin.
    const double Tol = 1e-6;

    [Fact]
    public void LogSigmoidMatchesDoubleAndItsDerivative()
    {
        var y = new float[X.Length];
        PreferenceScalarKernels.LogSigmoidForward(X, y);
        LossCheck.Close("logσ", y, X.Select(x => -Math.Log(1 + Math.Exp(-(double)x))).ToArray(), Tol);
        var dy = new float[] { 1, -2, 0.5f, 3, 1, 1, -1, 2 };
        var dx = new float[X.Length];
        PreferenceScalarKernels.LogSigmoidBackward(X, dy, dx);
        var num = LossCheck.Gradient(X, xd => xd.Select((x, i) => -Math.Log(1 + Math.Exp(-x)) * dy[i]).Sum());
        LossCheck.Close("dlogσ", dx, num, 1e-5);
    }

    [Fact]
    public void LogSigmoidIsStableAtExtremes()
    {
        Assert.Equal(-1000f, PreferenceScalarKernels.LogSigmoid(-1000f));
        Assert.Equal(0f, PreferenceScalarKernels.LogSigmoid(1000f));
        Assert.Equal(1f, PreferenceScalarKernels.Sigmoid(1000f));
        Assert.Equal(0f, PreferenceScalarKernels.Sigmoid(-1000f));
        Assert.Equal(-MathF.Log(2), PreferenceScalarKernels.LogSigmoid(0f), 7);
    }

    [Fact]
    public void HingeAndSquareMatchTheirDefinitions()
    {
        var y = new float[X.Length]; var dx = new float[X.Length];
        var dy = Enumerable.Range(0, X.Length).Select(i => 0.5f + i).ToArray();
        PreferenceScalarKernels.HingeForward(X, y);
        Assert.Equal(X.Select(x => Math.Max(0f, x)), y);
        PreferenceScalarKernels.HingeBackward(X, dy, dx);
        LossCheck.Close("dhinge", dx, LossCheck.Gradient(X, xd => xd.Select((x, i) => Math.Max(0, x) * dy[i]).Sum()), 1e-6);
        Assert.Equal(0f, dx[0] + dx[1] + dx[2] + dx[3]);   // zero region: no gradient for x < 0

        Array.Clear(dx);
        PreferenceScalarKernels.SquareForward(X, y);
        Assert.Equal(X.Select(x => x * x), y);
        PreferenceScalarKernels.SquareBackward(X, dy, dx);
        LossCheck.Close("dsquare", dx, LossCheck.Gradient(X, xd => xd.Select((x, i) => x * x * dy[i]).Sum()), 1e-6);
    }
}
