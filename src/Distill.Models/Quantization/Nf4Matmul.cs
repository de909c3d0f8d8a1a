using Distill.Tensors.Kernels;

namespace Distill.Models.Quantization;

/// <summary>
/// y = x Wᵀ with W held as NF4, dequantized on the fly: a tile of W's rows is expanded into a small fp32
/// buffer and multiplied with the packed GEMM, so the full fp32 weight never exists (QLoRA's compute path:
/// storage NF4, compute fp32). Forward and the input gradient side by side; W is frozen, so it has no gradient.
/// </summary>
public static class Nf4Matmul
{
    /// <summary>Rows of W dequantized per GEMM call: big enough to keep the GEMM efficient, small enough to stay in cache.</summary>
    public const int TileRows = 64;

    /// <param name="x">(m, in)</param><param name="w">(out, in) NF4</param><param name="absmax">w.BlockAbsmax(), (blocks)</param>
    /// <param name="y">(m, out), overwritten</param>
    public static void Forward(ReadOnlySpan<float> x, int m, Nf4Tensor w, ReadOnlySpan<float> absmax, Span<float> y)
    {
        int n = w.Rows, k = w.Cols;
        if (x.Length != m * k || y.Length != m * n) throw new ArgumentException("x or y does not match W's shape");
        var tile = new float[TileRows * k]; // (TileRows, in)
        for (int r0 = 0; r0 < n; r0 += TileRows)
        {
            int rows = Math.Min(TileRows, n - r0);
            w.DequantizeRows(r0, tile.AsSpan(0, rows * k), absmax);
            // y[:, r0:r0+rows] = x · tileᵀ
            Gemm.Sgemm(false, true, m, rows, k, 1f, x, k, tile, k, 0f, y[r0..], n);
        }
    }

    /// <summary>dx += dy · W.</summary>
    /// <param name="dy">(m, out)</param><param name="dx">(m, in), accumulated</param>
    public static void BackwardInput(ReadOnlySpan<float> dy, int m, Nf4Tensor w, ReadOnlySpan<float> absmax, Span<float> dx)
    {
        int n = w.Rows, k = w.Cols;
        if (dy.Length != m * n || dx.Length != m * k) throw new ArgumentException("dy or dx does not match W's shape");
        var tile = new float[TileRows * k];
        for (int r0 = 0; r0 < n; r0 += TileRows)
        {
            int rows = Math.Min(TileRows, n - r0);
            w.DequantizeRows(r0, tile.AsSpan(0, rows * k), absmax);
            // dx += dy[:, r0:r0+rows] · tile
            Gemm.Sgemm(false, false, m, k, rows, 1f, dy[r0..], n, tile, k, 1f, dx, k);
        }
    }
}
