using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Distill.Tensors.Threading;

namespace Distill.Tensors.Kernels.Losses;

/// <summary>
/// Softmax and log-softmax over the last dimension of a (rows, V) buffer, with a temperature τ:
/// y = softmax(x/τ), as in Hinton et al. 2015 and TRL's GKD (logits / temperature before the softmax).
/// Forward overwrites y; backward ADDS into dx. Rows are split across threads; each row's sums stay
/// in one thread, so results do not depend on the thread count.
/// </summary>
public static unsafe class SoftmaxKernels
{
    // x, y: (rows, V)
    public static void SoftmaxForward(ReadOnlySpan<float> x, int vocab, float temperature, Span<float> y)
        => Forward(x, vocab, temperature, y, log: false);

    // y (the forward output), dy, dx: (rows, V).  dx += (1/τ) · y ⊙ (dy − Σ_j dy_j y_j)
    public static void SoftmaxBackward(ReadOnlySpan<float> y, ReadOnlySpan<float> dy, int vocab, float temperature, Span<float> dx)
        => Backward(y, dy, vocab, temperature, dx, log: false);

    // x, y: (rows, V).  y = x/τ − log Σ exp(x/τ)
    public static void LogSoftmaxForward(ReadOnlySpan<float> x, int vocab, float temperature, Span<float> y)
        => Forward(x, vocab, temperature, y, log: true);

    // y (the forward output, log-probabilities), dy, dx: (rows, V).  dx += (1/τ) · (dy − exp(y) · Σ_j dy_j)
    public static void LogSoftmaxBackward(ReadOnlySpan<float> y, ReadOnlySpan<float> dy, int vocab, float temperature, Span<float> dx)
        => Backward(y, dy, vocab, temperature, dx, log: true);

    static void Forward(ReadOnlySpan<float> x, int vocab, float temperature, Span<float> y, bool log)
    {
        string who = log ? "LogSoftmaxForward" : "SoftmaxForward";
        RowMath.CheckTemperature(temperature, who);
        RowMath.CheckRows(x.Length, vocab, "x", who);
        if (y.Length != x.Length) throw new ArgumentException($"{who}: y has {y.Length} values, x {x.Length}");
        fixed (float* px = x) fixed (float* py = y)
            Workers.For(x.Length / vocab, new FwdBody { X = px, Y = py, V = vocab, InvTau = 1f / temperature, Log = log }, RowMath.MinRows(vocab));
    }

    struct FwdBody : IRangeBody
    {
        public float* X, Y; public int V; public float InvTau; public bool Log;
        public void Run(int begin, int end)
        {
            for (int r = begin; r < end; r++)
            {
                var x = new ReadOnlySpan<float>(X + (long)r * V, V);
                var y = new Span<float>(Y + (long)r * V, V);
                float logSum = RowMath.LogSumExp(x, InvTau, out float max);
                TensorPrimitives.Multiply(x, InvTau, y);   // y = (x/τ − max) − log Σ exp(x/τ − max), then exp for softmax
                TensorPrimitives.Subtract(y, max, y);
                TensorPrimitives.Subtract(y, logSum, y);
                if (!Log) TensorPrimitives.Exp(y, y);
            }
        }
    }

    static void Backward(ReadOnlySpan<float> y, ReadOnlySpan<float> dy, int vocab, float temperature, Span<float> dx, bool log)
    {
        string who = log ? "LogSoftmaxBackward" : "SoftmaxBackward";
        RowMath.CheckTemperature(temperature, who);
        RowMath.CheckRows(y.Length, vocab, "y", who);
        if (dy.Length != y.Length || dx.Length != y.Length)
            throw new ArgumentException($"{who}: y, dy, dx must have the same length, got {y.Length}, {dy.Length}, {dx.Length}");
        fixed (float* py = y) fixed (float* pdy = dy) fixed (float* pdx = dx)
            Workers.For(y.Length / vocab, new BwdBody { Y = py, Dy = pdy, Dx = pdx, V = vocab, InvTau = 1f / temperature, Log = log }, RowMath.MinRows(vocab));
    }

    struct BwdBody : IRangeBody
    {
        public float* Y, Dy, Dx; public int V; public float InvTau; public bool Log;
        public void Run(int begin, int end)
        {
            int w = RowMath.W;
            for (int r = begin; r < end; r++)
            {
                var y = new ReadOnlySpan<float>(Y + (long)r * V, V);
                var dy = new ReadOnlySpan<float>(Dy + (long)r * V, V);
                var dx = new Span<float>(Dx + (long)r * V, V);
                // softmax: c = Σ dy·y, dx += s·y·(dy − c);  log-softmax: c = Σ dy, dx += s·(dy − exp(y)·c)
                float c = Log ? TensorPrimitives.Sum(dy) : TensorPrimitives.Dot(dy, y);
                var vc = Vector256.Create(c); var vs = Vector256.Create(InvTau);
                ref float y0 = ref MemoryMarshal.GetReference(y);
                ref float g0 = ref MemoryMarshal.GetReference(dy);
                ref float d0 = ref MemoryMarshal.GetReference(dx);
                int i = 0;
                for (; i + w <= V; i += w)
                {
                    var yv = Vector256.LoadUnsafe(ref y0, (nuint)i);
                    var gv = Vector256.LoadUnsafe(ref g0, (nuint)i);
                    var add = Log ? vs * (gv - Vector256.Exp(yv) * vc) : vs * yv * (gv - vc);
                    (Vector256.LoadUnsafe(ref d0, (nuint)i) + add).StoreUnsafe(ref d0, (nuint)i);
                }
                for (; i < V; i++)
                    dx[i] += Log ? InvTau * (dy[i] - MathF.Exp(y[i]) * c) : InvTau * y[i] * (dy[i] - c);
            }
        }
    }
}
