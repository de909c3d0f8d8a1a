using Distill.Tensors.Kernels;
using Distill.Tensors.Quantization;

namespace Distill.Tensors.Tests.Quantization;

/// <summary>The vectorized activation quantizer gives exactly the codes and scales of the scalar q8_0 block quantizer.</summary>
public class Q8ActivationsTests
{
    [Fact]
    public void VectorAndScalarQuantizersAgreeBitForBit()
    {
        var rng = new Rng(21);
        int m = 3, k = 1536;
        var x = new float[m * k];
        rng.FillNormal(x, 0, 1);
        for (int i = 0; i < x.Length; i += 53) x[i] *= 30;              // outliers
        for (int i = 64; i < 96; i++) x[i] = 0;                          // an all-zero block
        for (int i = 96; i < 128; i++) x[i] = (i - 112) * 0.5f;          // a regular ramp
        for (int i = 128; i < 160; i++) x[i] = i % 2 == 0 ? 127f : -(i - 128) - 0.5f; // d = 1: exact halves round away from zero
        var vector = new Q8Activations();
        vector.Quantize(x, m, k);
        var scalar = new Q8Activations();
        Q8Activations.ForceScalar = true;
        try { scalar.Quantize(x, m, k); }
        finally { Q8Activations.ForceScalar = false; }
        // through the products: identical activations give identical outputs for any weights
        var w = Q8Matrix.Quantize(Enumerable.Range(0, 5 * k).Select(i => MathF.Sin(i * 0.37f)).ToArray(), 5, k);
        var ya = new float[m * 5];
        var yb = new float[m * 5];
        foreach (var isa in Enum.GetValues<Q8Isa>().Where(Q8Gemm.IsSupported))
        {
            Q8Gemm.Override = isa;
            try { Q8Gemm.Forward(vector, w, ya); Q8Gemm.Forward(scalar, w, yb); }
            finally { Q8Gemm.Override = null; }
            Assert.Equal(yb, ya);
        }
        // and block by block against the reference quantizer
        Span<sbyte> q = stackalloc sbyte[32];
        var back = new float[m * k];
        for (int b = 0; b < m * k / 32; b++)
        {
            float d = (float)Q8Blocks.QuantizeBlock(x.AsSpan(b * 32, 32), q);
            Assert.Equal(d, vector.ScaleOf(b));
            for (int i = 0; i < 32; i++) Assert.Equal(q[i], vector.CodeOf(b * 32 + i));
        }
    }
}
