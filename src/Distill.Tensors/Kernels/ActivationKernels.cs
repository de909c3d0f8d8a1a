using System.Runtime.Intrinsics;
using System.Numerics.Tensors;

namespace Distill.Tensors.Kernels;

/// <summary>
/// Pointwise activations, forward and backward side by side: GELU exact (erf) and tanh
/// ("gelu_new", Hendrycks &amp; Gimpel 2016, Eq. 2 approximation) and SwiGLU (Shazeer 2020):
/// silu(gate) · up. Backward adds into its gradient outputs.
/// </summary>
public static class ActivationKernels
{
    const float SqrtTwoOverPi = 0.7978845608028654f, GeluCubic = 0.044715f;

    const int Chunk = 512; // floats per vector pass: temporaries stay in L1 (stackalloc 2 KiB)

    // x, y: (n).  exact: y = x·Φ(x);  tanh: y = ½x(1 + tanh(√(2/π)(x + 0.044715x³)))
    // The tanh form runs through TensorPrimitives (vectorised tanh) in L1-sized chunks, split over the cores.
    public static unsafe void GeluForward(ReadOnlySpan<float> x, bool tanhApprox, Span<float> y)
    {
        if (y.Length != x.Length) throw new ArgumentException($"GeluForward: y has {y.Length} values, x {x.Length}");
        fixed (float* px = x, py = y)
            Pointwise.For(x.Length, new Pointwise.Args { A = px, B = py }, tanhApprox ? &GeluTanhForwardRange : &GeluErfForwardRange);
    }

    static unsafe void GeluErfForwardRange(in Pointwise.Args a, int begin, int end)
    {
        for (int i = begin; i < end; i++) a.B[i] = (float)(a.A[i] * Phi(a.A[i]));
    }

    static unsafe void GeluTanhForwardRange(in Pointwise.Args a, int begin, int end)
    {
        Span<float> t = stackalloc float[Chunk];
        for (int i0 = begin; i0 < end; i0 += Chunk)
        {
            int n = Math.Min(Chunk, end - i0);
            var xs = new ReadOnlySpan<float>(a.A + i0, n);
            var ys = new Span<float>(a.B + i0, n);
            var ts = t[..n];
            GeluTanhInner(xs, ts);                               // t = tanh(√(2/π)(x + 0.044715x³))
            TensorPrimitives.MultiplyAdd(xs, ts, xs, ys);         // y = x·t + x
            TensorPrimitives.Multiply(ys, 0.5f, ys);              // y = ½x(1 + t)
        }
    }

    static void GeluTanhInner(ReadOnlySpan<float> x, Span<float> t)
    {
        TensorPrimitives.Multiply(x, x, t);
        TensorPrimitives.Multiply(t, x, t);                        // x³
        TensorPrimitives.MultiplyAdd(t, GeluCubic, x, t);          // x + 0.044715x³
        TensorPrimitives.Multiply(t, SqrtTwoOverPi, t);
        TensorPrimitives.Tanh(t, t);
    }

    // exact: dy/dx = Φ(x) + x·φ(x);  tanh: ½(1+t) + ½x(1−t²)·√(2/π)(1 + 3·0.044715x²)
    public static unsafe void GeluBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> dy, bool tanhApprox, Span<float> dx)
    {
        if (dy.Length != x.Length || dx.Length != x.Length) throw new ArgumentException("GeluBackward: x, dy, dx lengths differ");
        fixed (float* px = x, pdy = dy, pdx = dx)
            Pointwise.For(x.Length, new Pointwise.Args { A = px, B = pdy, C = pdx }, tanhApprox ? &GeluTanhBackwardRange : &GeluErfBackwardRange);
    }

    static unsafe void GeluErfBackwardRange(in Pointwise.Args a, int begin, int end)
    {
        for (int i = begin; i < end; i++)
        {
            double v = a.A[i];
            double d = Phi(v) + v * Math.Exp(-0.5 * v * v) * 0.3989422804014327;
            a.C[i] += (float)(a.B[i] * d);
        }
    }

    static unsafe void GeluTanhBackwardRange(in Pointwise.Args a, int begin, int end)
    {
        Span<float> t = stackalloc float[Chunk];
        Span<float> u = stackalloc float[Chunk];
        Span<float> w = stackalloc float[Chunk];
        for (int i0 = begin; i0 < end; i0 += Chunk)
        {
            int n = Math.Min(Chunk, end - i0);
            var xs = new ReadOnlySpan<float>(a.A + i0, n);
            var dys = new ReadOnlySpan<float>(a.B + i0, n);
            var dxs = new Span<float>(a.C + i0, n);
            var ts = t[..n];
            var us = u[..n];
            var ws = w[..n];
            GeluTanhInner(xs, ts);
            // u = ½x·√(2/π)(1 + 3c x²)
            TensorPrimitives.Multiply(xs, xs, us);
            TensorPrimitives.Multiply(us, 3f * GeluCubic * SqrtTwoOverPi * 0.5f, us);
            TensorPrimitives.Add(us, SqrtTwoOverPi * 0.5f, us);
            TensorPrimitives.Multiply(us, xs, us);
            // d = u(1 − t²) + ½t + ½, then dx += dy·d
            TensorPrimitives.Multiply(ts, ts, ws);
            TensorPrimitives.Multiply(ws, us, ws);
            TensorPrimitives.Subtract(us, ws, us);
            TensorPrimitives.MultiplyAdd(ts, 0.5f, us, us);
            TensorPrimitives.Add(us, 0.5f, us);
            TensorPrimitives.MultiplyAdd(dys, us, dxs, dxs);
        }
    }

    /// <summary>Standard normal CDF Φ(x) = ½(1 + erf(x/√2)).</summary>
    public static double Phi(double x) => 0.5 * (1.0 + Erf(x * 0.7071067811865476));

    /// <summary>erf by W. J. Cody's rational approximations' simpler cousin: Numerical Recipes erfc (Chebyshev, |rel err| &lt; 1.2e-7), enough for float32.</summary>
    public static double Erf(double x)
    {
        double z = Math.Abs(x);
        double t = 1.0 / (1.0 + 0.5 * z);
        double r = t * Math.Exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806
            + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
        return x >= 0 ? 1.0 - r : r - 1.0;
    }

    // gate, up, y: (n).  y = silu(g)·u = g·σ(g)·u   (σ vectorised by TensorPrimitives.Sigmoid)
    public static unsafe void SwiGluForward(ReadOnlySpan<float> gate, ReadOnlySpan<float> up, Span<float> y)
    {
        if (up.Length != gate.Length || y.Length != gate.Length) throw new ArgumentException("SwiGluForward: gate, up, y lengths differ");
        fixed (float* g = gate, u = up, py = y)
            Pointwise.For(gate.Length, new Pointwise.Args { A = g, B = u, C = py }, &SwiGluForwardRange);
    }

    // One pass: y = (σ(g)·g)·u per vector, σ = 1/(1 + e^−g) — TensorPrimitives.Sigmoid's formula, with the same vector
    // exp, so the values equal the three-pass form (σ, ·g, ·u) it replaces, which read and wrote y three times.
    static unsafe void SwiGluForwardRange(in Pointwise.Args a, int begin, int end)
    {
        int i = begin;
        if (Vector512.IsHardwareAccelerated)
            for (; i + 16 <= end; i += 16)
            {
                var g = Vector512.Load(a.A + i);
                var sg = Vector512<float>.One / (Vector512<float>.One + Vector512.Exp(-g));
                (sg * g * Vector512.Load(a.B + i)).Store(a.C + i);
            }
        if (end > i)
        {
            var g = Pointwise.S(a.A, i, end);
            var y = Pointwise.S(a.C, i, end);
            TensorPrimitives.Sigmoid(g, y);
            TensorPrimitives.Multiply(y, g, y);
            TensorPrimitives.Multiply(y, Pointwise.S(a.B, i, end), y);
        }
    }

    // dsilu/dg = σ(g)(1 + g(1 − σ(g)));  dgate += dy·u·dsilu;  dup += dy·silu(g)
    /// <summary>
    /// dgate += dy · u · dsilu(g), dup += dy · silu(g) (either may be empty). With <paramref name="overwriteGate"/> /
    /// <paramref name="overwriteUp"/> the product is written instead of added (a fresh, uncleared gradient buffer:
    /// Tape.GradForWrite), which saves the buffer's memset and one read of it.
    /// </summary>
    public static unsafe void SwiGluBackward(ReadOnlySpan<float> gate, ReadOnlySpan<float> up, ReadOnlySpan<float> dy, Span<float> dgate, Span<float> dup,
        bool overwriteGate = false, bool overwriteUp = false)
    {
        if (up.Length != gate.Length || dy.Length != gate.Length) throw new ArgumentException("SwiGluBackward: gate, up, dy lengths differ");
        if (!dgate.IsEmpty && dgate.Length != gate.Length || !dup.IsEmpty && dup.Length != gate.Length) throw new ArgumentException("SwiGluBackward: gradient lengths differ");
        fixed (float* g = gate, u = up, d = dy, dg = dgate, du = dup)
            Pointwise.For(gate.Length, new Pointwise.Args { A = g, B = u, C = d, D = dg, E = du, K0 = overwriteGate ? 1 : 0, K1 = overwriteUp ? 1 : 0 }, &SwiGluBackwardRange);
    }

    static unsafe void SwiGluBackwardRange(in Pointwise.Args a, int begin, int end)
    {
        if (Vector512.IsHardwareAccelerated)
        {
            // one pass, the same operations in the same order as the chunked passes below (so the same values)
            bool owg = a.K0 != 0, owu = a.K1 != 0;
            int i = begin;
            for (; i + 16 <= end; i += 16)
            {
                var g = Vector512.Load(a.A + i);
                var d = Vector512.Load(a.C + i);
                var sg = Vector512<float>.One / (Vector512<float>.One + Vector512.Exp(-g));
                if (a.E != null)
                {
                    var du = d * (g * sg);
                    (owu ? du : du + Vector512.Load(a.E + i)).Store(a.E + i);
                }
                if (a.D != null)
                {
                    var t = (g * (Vector512<float>.One - sg) + Vector512<float>.One) * sg * Vector512.Load(a.B + i);
                    var dg = d * t;
                    (owg ? dg : dg + Vector512.Load(a.D + i)).Store(a.D + i);
                }
            }
            begin = i;
        }
        Span<float> sBuf = stackalloc float[Chunk];
        Span<float> tBuf = stackalloc float[Chunk];
        for (int i0 = begin; i0 < end; i0 += Chunk)
        {
            int n = Math.Min(Chunk, end - i0);
            var g = new ReadOnlySpan<float>(a.A + i0, n);
            var d = new ReadOnlySpan<float>(a.C + i0, n);
            var s = sBuf[..n];
            var t = tBuf[..n];
            TensorPrimitives.Sigmoid(g, s);
            if (a.E != null)
            {
                TensorPrimitives.Multiply(g, s, t);                                   // silu(g)
                var du = new Span<float>(a.E + i0, n);
                if (a.K1 != 0) TensorPrimitives.Multiply(d, t, du);
                else TensorPrimitives.MultiplyAdd(d, t, du, du);
            }
            if (a.D != null)
            {
                TensorPrimitives.Subtract(1f, s, t);                                  // 1 − σ
                TensorPrimitives.MultiplyAdd(g, t, 1f, t);                            // 1 + g(1 − σ)
                TensorPrimitives.Multiply(t, s, t);                                   // dsilu/dg
                TensorPrimitives.Multiply(t, new ReadOnlySpan<float>(a.B + i0, n), t);  // · u
                var dg = new Span<float>(a.D + i0, n);
                if (a.K0 != 0) TensorPrimitives.Multiply(d, t, dg);
                else TensorPrimitives.MultiplyAdd(d, t, dg, dg);
            }
        }
    }

    /// <summary>dst += src (the backward of every add and of identity fan-out), over both cores.</summary>
    public static unsafe void AddInto(ReadOnlySpan<float> src, Span<float> dst)
    {
        if (src.Length != dst.Length) throw new ArgumentException($"AddInto: {src.Length} vs {dst.Length} values");
        fixed (float* s = src, d = dst) Pointwise.For(src.Length, new Pointwise.Args { A = s, B = d }, &AddIntoRange);
    }

    /// <summary>y = a + b over both cores.</summary>
    public static unsafe void Add(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y)
    {
        if (a.Length != b.Length || y.Length != a.Length) throw new ArgumentException($"Add: {a.Length}, {b.Length}, {y.Length} values");
        fixed (float* pa = a, pb = b, py = y) Pointwise.For(a.Length, new Pointwise.Args { A = pa, B = pb, C = py }, &AddRange);
    }

    static unsafe void AddIntoRange(in Pointwise.Args a, int begin, int end)
    {
        var d = Pointwise.S(a.B, begin, end);
        TensorPrimitives.Add(d, Pointwise.S(a.A, begin, end), d);
    }

    static unsafe void AddRange(in Pointwise.Args a, int begin, int end)
        => TensorPrimitives.Add(Pointwise.S(a.A, begin, end), Pointwise.S(a.B, begin, end), Pointwise.S(a.C, begin, end));
}
