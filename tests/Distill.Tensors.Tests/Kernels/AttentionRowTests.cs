using System.Numerics.Tensors;
using Distill.Tensors.Kernels;

namespace Distill.Tensors.Tests.Kernels;

/// <summary>
/// The attention's fused row passes give what the TensorPrimitives calls they replace gave, bit for bit (so the training
/// numbers, and the demo's table, did not move): exp(x − max) in one pass for Subtract + Exp, dS = ((dP − dot)·P)·scale
/// in one pass for Subtract + Multiply + Multiply, at every length around the vector widths (the tails, and the scalar
/// path TensorPrimitives.Exp takes below 4 elements); and the 8×8-block transpose equals the element copy at odd shapes.
/// </summary>
public class AttentionRowTests
{
    [Fact]
    public void ExpShiftedEqualsSubtractThenExp()
    {
        var rng = new Rng(21);
        for (int n = 1; n <= 70; n++)
        {
            var x = new float[n];
            rng.FillNormal(x, 0, 6);
            x[rng.NextInt(n)] = float.NegativeInfinity; // a masked key
            float max = TensorPrimitives.Max(x);
            float[] expected = (float[])x.Clone(), actual = (float[])x.Clone();
            TensorPrimitives.Subtract(expected, max, expected);
            TensorPrimitives.Exp(expected, expected);
            AttentionGemmKernels.ExpShifted(actual, max);
            for (int i = 0; i < n; i++)
                Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(actual[i]), $"n {n}, [{i}]: {actual[i]} vs {expected[i]}");
        }
    }

    [Fact]
    public void DsRowEqualsSubtractMultiplyMultiply()
    {
        var rng = new Rng(22);
        for (int n = 1; n <= 70; n++)
        {
            float[] p = new float[n], d = new float[n];
            rng.FillNormal(p, 0, 1);
            rng.FillNormal(d, 0, 1);
            float dot = TensorPrimitives.Dot(p, d), scale = 0.125f;
            float[] expected = (float[])d.Clone(), actual = (float[])d.Clone();
            TensorPrimitives.Subtract(expected, dot, expected);
            TensorPrimitives.Multiply(expected, p, expected);
            TensorPrimitives.Multiply(expected, scale, expected);
            AttentionGemmKernels.DsRow(p, actual, dot, scale);
            Assert.Equal(expected, actual);
        }
    }

    [Theory]
    [InlineData(512, 64)]
    [InlineData(13, 70)]
    [InlineData(8, 8)]
    [InlineData(7, 9)]
    public unsafe void TransposeEqualsTheElementCopy(int rows, int cols)
    {
        var rng = new Rng(23);
        int lds = cols + 3, ldd = rows + 5;
        var src = new float[rows * lds];
        rng.FillNormal(src, 0, 1);
        var dst = new float[cols * ldd];
        fixed (float* s = src, d = dst) AttentionTile.Transpose(s, lds, rows, cols, d, ldd);
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++) Assert.Equal(src[i * lds + j], dst[j * ldd + i]);
    }
}
