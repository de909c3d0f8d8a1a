using System.Runtime.Intrinsics;

namespace Distill.Tensors.Tests.Losses;

/// <summary>
/// Helpers for the loss-kernel tests: seeded inputs, central differences of the DOUBLE-precision
/// references (so the numeric gradient carries ~1e-10 of error, not float32's ~1e-3), and a
/// magnitude-scaled comparison.
/// </summary>
internal static class LossCheck
{
    /// <summary>Every tail length of the Vector256 loops: 1 … 2·W + 3 (V = 0 is rejected, tested apart), plus wider rows.</summary>
    public static IEnumerable<int> Widths()
    {
        for (int v = 1; v <= 2 * Vector256<float>.Count + 3; v++) yield return v;
        yield return 37;
        yield return 250;
    }

    public static float[] Normal(Random rng, int n, double scale = 1.0)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++)
        {
            double u1 = 1.0 - rng.NextDouble(), u2 = rng.NextDouble();
            a[i] = (float)(scale * Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
        }
        return a;
    }

    /// <summary>
    /// Central difference of f at x[i] in double: step h = 1e-5 on O(1) inputs has truncation error
    /// h²·|f'''|/6 ≈ 1e-11 and rounding error ≈ 1e-16/h = 1e-11, both far below the float32 errors
    /// being tested. x is float (the kernels' input type) but f evaluates in double, and the step is
    /// applied through a double copy so it is not rounded to float.
    /// </summary>
    public static double[] Gradient(float[] x, Func<double[], double> f, double h = 1e-5)
    {
        var xd = x.Select(v => (double)v).ToArray();
        var g = new double[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            double o = xd[i];
            xd[i] = o + h; double fp = f(xd);
            xd[i] = o - h; double fm = f(xd);
            xd[i] = o;
            g[i] = (fp - fm) / (2 * h);
        }
        return g;
    }

    /// <summary>|actual − expected| ≤ tol·(|expected| + scale) elementwise, scale = max |expected| (the magnitude of the whole vector).</summary>
    public static void Close(string what, ReadOnlySpan<float> actual, ReadOnlySpan<double> expected, double tol)
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = 0;
        foreach (double e in expected) scale = Math.Max(scale, Math.Abs(e));
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.False(float.IsNaN(actual[i]), $"{what}[{i}] is NaN");
            Assert.True(Math.Abs(actual[i] - expected[i]) <= tol * (Math.Abs(expected[i]) + scale) + 1e-30,
                $"{what}[{i}]: {actual[i]:G9} vs {expected[i]:G9} (scale {scale:G3}, tol {tol:G3})");
        }
    }

    public static void Close(string what, double actual, double expected, double tol)
        => Assert.True(Math.Abs(actual - expected) <= tol * (1 + Math.Abs(expected)), $"{what}: {actual:G9} vs {expected:G9} (tol {tol:G3})");
}
