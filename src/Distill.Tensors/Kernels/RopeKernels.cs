namespace Distill.Tensors.Kernels;

/// <summary>
/// Rotary position embedding (Su et al. 2021) in Hugging Face's rotate_half convention:
/// within the first rotaryDim dims of each head, dim d pairs with d + rotaryDim/2 (not with d+1 as
/// in the paper's interleaved form):  y = x·cos + rotate_half(x)·sin,  rotate_half(x) = (−x₂, x₁).
/// Dims ≥ rotaryDim pass through (Phi-2's partial rotary). Backward applies the inverse rotation.
/// </summary>
public static class RopeKernels
{
    // x, y: (rows, heads·headDim)  cos, sin: (maxPos, rotaryDim/2)  positions: (rows % n == 0 → pos[r % n])
    public static void RopeForward(ReadOnlySpan<float> x, int heads, int headDim, int rotaryDim, ReadOnlySpan<float> cos, ReadOnlySpan<float> sin,
        ReadOnlySpan<int> positions, Span<float> y, bool inverse = false)
    {
        int width = heads * headDim, half = rotaryDim / 2;
        if (x.Length % width != 0 || y.Length != x.Length) throw new ArgumentException($"Rope: x has {x.Length} values, not rows × {heads}×{headDim}");
        if (rotaryDim % 2 != 0 || rotaryDim > headDim) throw new ArgumentException($"Rope: rotaryDim {rotaryDim} must be even and ≤ headDim {headDim}");
        int rows = x.Length / width;
        if (positions.Length == 0 || rows % positions.Length != 0) throw new ArgumentException($"Rope: {positions.Length} positions for {rows} rows");
        float sign = inverse ? -1f : 1f;
        for (int r = 0; r < rows; r++)
        {
            int p = positions[r % positions.Length];
            if ((long)(p + 1) * half > cos.Length) throw new ArgumentException($"Rope: position {p} beyond the table ({cos.Length / Math.Max(1, half)} positions)");
            var c = cos.Slice(p * half, half);
            var s = sin.Slice(p * half, half);
            for (int h = 0; h < heads; h++)
            {
                int o = r * width + h * headDim;
                for (int d = 0; d < half; d++)
                {
                    float x1 = x[o + d], x2 = x[o + d + half], sn = sign * s[d];
                    y[o + d] = x1 * c[d] - x2 * sn;
                    y[o + d + half] = x2 * c[d] + x1 * sn;
                }
                for (int d = rotaryDim; d < headDim; d++) y[o + d] = x[o + d];
            }
        }
    }

    // The rotation is orthogonal, so dx = Rᵀ dy = rotation by −θ; added into dx.
    public static void RopeBackward(ReadOnlySpan<float> dy, int heads, int headDim, int rotaryDim, ReadOnlySpan<float> cos, ReadOnlySpan<float> sin,
        ReadOnlySpan<int> positions, Span<float> dx, Span<float> scratch)
    {
        RopeForward(dy, heads, headDim, rotaryDim, cos, sin, positions, scratch, inverse: true);
        ActivationKernels.AddInto(scratch, dx);
    }
}
