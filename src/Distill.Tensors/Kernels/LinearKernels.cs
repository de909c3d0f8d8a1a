using System.Numerics.Tensors;

namespace Distill.Tensors.Kernels;

/// <summary>The non-GEMM parts of a linear layer: bias broadcast and its reduction.</summary>
public static class LinearKernels
{
    // y: (rows, n) += bias: (n) on every row
    public static void AddBias(Span<float> y, ReadOnlySpan<float> bias)
    {
        int n = bias.Length;
        for (int r = 0; r < y.Length / n; r++)
        {
            var row = y.Slice(r * n, n);
            TensorPrimitives.Add(row, bias, row);
        }
    }

    // dbias: (n) += Σ_rows dy: (rows, n)  (serial over rows: a reduction is never split across threads)
    public static void BiasBackward(ReadOnlySpan<float> dy, Span<float> dbias)
    {
        int n = dbias.Length;
        for (int r = 0; r < dy.Length / n; r++) TensorPrimitives.Add(dbias, dy.Slice(r * n, n), dbias);
    }
}
