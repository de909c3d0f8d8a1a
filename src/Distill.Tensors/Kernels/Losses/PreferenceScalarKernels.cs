namespace Distill.Tensors.Kernels.Losses;

/// <summary>
/// Element-wise scalar ops that preference losses are built from: log-sigmoid (DPO, Rafailov et al.
/// 2023 Eq. 7), hinge max(0, x) (SLiC, PLaD) and square (IPO). Vectors are of length B (pairs in a
/// batch): far too short for SIMD to pay, so these are plain loops. Forward overwrites y; backward
/// ADDS into dx.
/// </summary>
public static class PreferenceScalarKernels
{
    /// <summary>Stable log σ(x) = min(x, 0) − log(1 + exp(−|x|)): never exp of a large positive number, never log(0).</summary>
    public static float LogSigmoid(float x) => MathF.Min(x, 0f) - MathF.Log(1f + MathF.Exp(-MathF.Abs(x)));

    /// <summary>σ(x) without overflow for large |x|.</summary>
    public static float Sigmoid(float x)
    {
        if (x >= 0) return 1f / (1f + MathF.Exp(-x));
        float e = MathF.Exp(x);
        return e / (1f + e);
    }

    // x, y: (n)
    public static void LogSigmoidForward(ReadOnlySpan<float> x, Span<float> y)
    {
        Same(x.Length, y.Length, "LogSigmoidForward");
        for (int i = 0; i < x.Length; i++) y[i] = LogSigmoid(x[i]);
    }

    // d/dx log σ(x) = 1 − σ(x) = σ(−x)
    public static void LogSigmoidBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> dy, Span<float> dx)
    {
        Same(x.Length, dy.Length, "LogSigmoidBackward"); Same(x.Length, dx.Length, "LogSigmoidBackward");
        for (int i = 0; i < x.Length; i++) dx[i] += dy[i] * Sigmoid(-x[i]);
    }

    public static void HingeForward(ReadOnlySpan<float> x, Span<float> y)
    {
        Same(x.Length, y.Length, "HingeForward");
        for (int i = 0; i < x.Length; i++) y[i] = MathF.Max(0f, x[i]);
    }

    // subgradient 0 at x = 0 (as torch.relu / clamp(min=0) take it)
    public static void HingeBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> dy, Span<float> dx)
    {
        Same(x.Length, dy.Length, "HingeBackward"); Same(x.Length, dx.Length, "HingeBackward");
        for (int i = 0; i < x.Length; i++) if (x[i] > 0f) dx[i] += dy[i];
    }

    public static void SquareForward(ReadOnlySpan<float> x, Span<float> y)
    {
        Same(x.Length, y.Length, "SquareForward");
        for (int i = 0; i < x.Length; i++) y[i] = x[i] * x[i];
    }

    public static void SquareBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> dy, Span<float> dx)
    {
        Same(x.Length, dy.Length, "SquareBackward"); Same(x.Length, dx.Length, "SquareBackward");
        for (int i = 0; i < x.Length; i++) dx[i] += 2f * x[i] * dy[i];
    }

    static void Same(int a, int b, string who)
    {
        if (a != b) throw new ArgumentException($"{who}: lengths differ ({a} vs {b})");
    }
}
