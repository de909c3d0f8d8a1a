using System.Numerics.Tensors;

namespace Distill.Tensors.Kernels;

/// <summary>
/// Rotary position embedding (Su et al. 2021) in Hugging Face's rotate_half convention:
/// within the first rotaryDim dims of each head, dim d pairs with d + rotaryDim/2 (not with d+1 as
/// in the paper's interleaved form):  y = x·cos + rotate_half(x)·sin,  rotate_half(x) = (−x₂, x₁).
/// Dims ≥ rotaryDim pass through (Phi-2's partial rotary). Backward applies the inverse rotation.
/// </summary>
public static unsafe class RopeKernels
{
    // x, y: (rows, heads·headDim)  cos, sin: (maxPos, rotaryDim/2)  positions: (rows % n == 0 → pos[r % n])
    public static void RopeForward(ReadOnlySpan<float> x, int heads, int headDim, int rotaryDim, ReadOnlySpan<float> cos, ReadOnlySpan<float> sin,
        ReadOnlySpan<int> positions, Span<float> y, bool inverse = false)
        => Run(x, heads, headDim, rotaryDim, cos, sin, positions, y, inverse, accumulate: false);

    // The rotation is orthogonal, so dx = Rᵀ dy = rotation by −θ; added into dx, or written with overwrite (a fresh buffer).
    public static void RopeBackward(ReadOnlySpan<float> dy, int heads, int headDim, int rotaryDim, ReadOnlySpan<float> cos, ReadOnlySpan<float> sin,
        ReadOnlySpan<int> positions, Span<float> dx, bool overwrite = false)
        => Run(dy, heads, headDim, rotaryDim, cos, sin, positions, dx, inverse: true, accumulate: !overwrite);

    static void Run(ReadOnlySpan<float> x, int heads, int headDim, int rotaryDim, ReadOnlySpan<float> cos, ReadOnlySpan<float> sin,
        ReadOnlySpan<int> positions, Span<float> y, bool inverse, bool accumulate)
    {
        int width = heads * headDim, half = rotaryDim / 2;
        if (x.Length % width != 0 || y.Length != x.Length) throw new ArgumentException($"Rope: x has {x.Length} values, not rows × {heads}×{headDim}");
        if (rotaryDim % 2 != 0 || rotaryDim > headDim) throw new ArgumentException($"Rope: rotaryDim {rotaryDim} must be even and ≤ headDim {headDim}");
        int rows = x.Length / width;
        if (positions.Length == 0 || rows % positions.Length != 0) throw new ArgumentException($"Rope: {positions.Length} positions for {rows} rows");
        foreach (int p in positions)
            if (p < 0 || (long)(p + 1) * half > cos.Length) throw new ArgumentException($"Rope: position {p} beyond the table ({cos.Length / Math.Max(1, half)} positions)");
        fixed (float* px = x, py = y, pc = cos, ps = sin)
        fixed (int* pp = positions)
            Pointwise.For(rows, new Pointwise.Args
            {
                A = px, B = py, C = pc, D = ps, Ints = pp, N = positions.Length, Dim = headDim, K0 = heads, K1 = rotaryDim,
                K2 = (inverse ? 1 : 0) | (accumulate ? 2 : 0),
            }, &Rows, Math.Max(1, Pointwise.MinElements / width));
    }

    // Per row and head, with (x₁, x₂) the two halves of the rotary dims: y₁ = x₁·cos − x₂·sin, y₂ = x₂·cos + x₁·sin
    // (sin negated for the inverse); accumulate adds into y instead of writing.
    static void Rows(in Pointwise.Args a, int r0, int r1)
    {
        int heads = a.K0, headDim = a.Dim, rot = a.K1, half = rot / 2, width = heads * headDim;
        bool inverse = (a.K2 & 1) != 0, accumulate = (a.K2 & 2) != 0;
        Span<float> sn = stackalloc float[half];
        Span<float> nsn = stackalloc float[half];
        Span<float> t = stackalloc float[half];
        for (int r = r0; r < r1; r++)
        {
            int p = a.Ints[r % a.N];
            var c = new ReadOnlySpan<float>(a.C + (long)p * half, half);
            var s = new ReadOnlySpan<float>(a.D + (long)p * half, half);
            if (inverse) { TensorPrimitives.Negate(s, sn); s.CopyTo(nsn); }
            else { s.CopyTo(sn); TensorPrimitives.Negate(s, nsn); }
            for (int h = 0; h < heads; h++)
            {
                long o = (long)r * width + h * headDim;
                var x1 = new ReadOnlySpan<float>(a.A + o, half);
                var x2 = new ReadOnlySpan<float>(a.A + o + half, half);
                var y1 = new Span<float>(a.B + o, half);
                var y2 = new Span<float>(a.B + o + half, half);
                if (accumulate)
                {
                    TensorPrimitives.MultiplyAdd(x1, c, y1, y1);
                    TensorPrimitives.MultiplyAdd(x2, nsn, y1, y1);
                    TensorPrimitives.MultiplyAdd(x2, c, y2, y2);
                    TensorPrimitives.MultiplyAdd(x1, sn, y2, y2);
                    if (rot < headDim) TensorPrimitives.Add(new Span<float>(a.B + o + rot, headDim - rot), new ReadOnlySpan<float>(a.A + o + rot, headDim - rot), new Span<float>(a.B + o + rot, headDim - rot));
                }
                else
                {
                    TensorPrimitives.Multiply(x2, nsn, t);
                    TensorPrimitives.MultiplyAdd(x1, c, t, y1);
                    TensorPrimitives.Multiply(x1, sn, t);
                    TensorPrimitives.MultiplyAdd(x2, c, t, y2);
                    if (rot < headDim) new ReadOnlySpan<float>(a.A + o + rot, headDim - rot).CopyTo(new Span<float>(a.B + o + rot, headDim - rot));
                }
            }
        }
    }
}
