using Distill.Tensors.Kernels;

namespace Distill.Tensors.Tests.Kernels;

/// <summary>
/// The vectorised activation kernels against scalar double-precision formulas for lengths across the
/// 512-element chunk and 8-lane vector boundaries. Tolerance 2e-6·(1 + |ref|): float32 tanh/sigmoid
/// from TensorPrimitives are within a few ulps, plus a few roundings in the chained products.
/// </summary>
public class ActivationKernelTests
{
    static readonly int[] Lengths = [0, 1, 7, 8, 9, 31, 511, 512, 513, 1030];

    static void Close(double expected, float actual, string what)
        => Assert.True(Math.Abs(expected - actual) <= 2e-6 * (1 + Math.Abs(expected)), $"{what}: {actual} vs reference {expected}");

    [Fact]
    public void GeluTanhForwardAndBackwardMatchDoubleReference()
    {
        foreach (int n in Lengths)
        {
            var rng = new Rng((ulong)n + 1);
            var x = new float[n]; var dy = new float[n]; var y = new float[n]; var dx = new float[n];
            rng.FillNormal(x, 0, 2); rng.FillNormal(dy, 0, 1); rng.FillNormal(dx, 0, 1);
            var dx0 = (float[])dx.Clone();
            ActivationKernels.GeluForward(x, true, y);
            ActivationKernels.GeluBackward(x, dy, true, dx);
            const double k = 0.7978845608028654, c = 0.044715;
            for (int i = 0; i < n; i++)
            {
                double v = x[i], t = Math.Tanh(k * (v + c * v * v * v));
                Close(0.5 * v * (1 + t), y[i], $"gelu n={n} [{i}]");
                double d = 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * k * (1 + 3 * c * v * v);
                Close(dx0[i] + dy[i] * d, dx[i], $"dgelu n={n} [{i}] (adds into dx)");
            }
        }
    }

    [Fact]
    public void SwiGluForwardAndBackwardMatchDoubleReference()
    {
        foreach (int n in Lengths)
        {
            var rng = new Rng((ulong)n + 100);
            var g = new float[n]; var u = new float[n]; var dy = new float[n]; var y = new float[n]; var dg = new float[n]; var du = new float[n];
            rng.FillNormal(g, 0, 2); rng.FillNormal(u, 0, 1); rng.FillNormal(dy, 0, 1);
            ActivationKernels.SwiGluForward(g, u, y);
            ActivationKernels.SwiGluBackward(g, u, dy, dg, du);
            for (int i = 0; i < n; i++)
            {
                double s = 1 / (1 + Math.Exp(-(double)g[i]));
                Close(g[i] * s * u[i], y[i], $"swiglu n={n} [{i}]");
                Close(dy[i] * u[i] * s * (1 + g[i] * (1 - s)), dg[i], $"dgate n={n} [{i}]");
                Close(dy[i] * g[i] * s, du[i], $"dup n={n} [{i}]");
            }
            // the fused one-pass kernel gives the values of the three TensorPrimitives passes it replaced, bit for bit
            if (n > 0)
            {
                var yRef = new float[n];
                System.Numerics.Tensors.TensorPrimitives.Sigmoid(g, yRef);
                System.Numerics.Tensors.TensorPrimitives.Multiply(yRef, g, yRef);
                System.Numerics.Tensors.TensorPrimitives.Multiply(yRef, u, yRef);
                Assert.Equal(yRef, y);
            }
            // overwrite (a fresh gradient buffer from Tape.GradForWrite): the same values whatever the buffers held
            var dgW = new float[n]; var duW = new float[n];
            Array.Fill(dgW, float.NaN); Array.Fill(duW, 1e30f);
            ActivationKernels.SwiGluBackward(g, u, dy, dgW, duW, overwriteGate: true, overwriteUp: true);
            Assert.Equal(dg, dgW);
            Assert.Equal(du, duW);
        }
    }
}
