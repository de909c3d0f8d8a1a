using System.Text.Json;
using Distill.Models.Formats;
using Distill.Models.Quantization;
using Distill.Tensors.Kernels;

namespace Distill.Models.Tests.Quantization;

/// <summary>NF4 and its double quantization against reference/make_nf4.py (a port of bitsandbytes' code run on torch).</summary>
public class Nf4Tests
{
    [Fact]
    public void CodeBookIsBitsAndBytes()
    {
        // REFERENCE.md, "QLoRA: bitsandbytes NF4", index 0…15.
        double[] expected = [-1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635,
            -0.18477343022823334, -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725, 0.24611230194568634,
            0.33791524171829224, 0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0];
        Assert.Equal(expected.Select(v => (float)v).ToArray(), Nf4.Code.ToArray());
    }

    [Fact]
    public void ThresholdTreeIsNearestCodeWithTiesToTheLowerCode()
    {
        var code = Nf4.Code;
        var rng = new Random(5);
        for (int i = 0; i < 20000; i++)
        {
            float x = (float)(rng.NextDouble() * 2.2 - 1.1);
            int q = Nf4.Quantize(x);
            // nearest code (in double); away from the midpoints the tree must agree
            int best = 0;
            for (int c = 1; c < 16; c++) if (Math.Abs(x - (double)code[c]) < Math.Abs(x - (double)code[best])) best = c;
            double margin = Math.Abs(Math.Abs(x - (double)code[best]) - (best > 0 ? Math.Abs(x - (double)code[best - 1]) : 9));
            if (margin > 1e-6) Assert.Equal(best, q);
        }
        Assert.Equal(0b0111, Nf4.Quantize(0f));
        Assert.Equal(0b1000, Nf4.Quantize(MathF.BitIncrement(0.03979014977812767f))); // just above the 7|8 threshold
        Assert.Equal(0b0111, Nf4.Quantize(0.03979014977812767f)); // equal: the lower code
        Assert.Equal(0b0000, Nf4.Quantize(float.NaN));
    }

    [Fact]
    public void DynamicMapEqualsThePythonPortOfCreateDynamicMap()
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(TestPaths.Reference("nf4", "dynamic_map.json")));
        var expected = doc.RootElement.GetProperty("bits").EnumerateArray().Select(e => BitConverter.Int32BitsToSingle(e.GetInt32())).ToArray();
        var actual = DynamicMap.Signed.ToArray();
        Assert.Equal(256, actual.Length);
        for (int i = 0; i < 256; i++)
            Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(actual[i]), $"map[{i}]: expected {expected[i]:R}, got {actual[i]:R}");
        // signed map: +1 is a code, −1 is not (the most negative code is −0.9929688); 0 appears once per padding slot
        Assert.Equal(1f, actual[255]);
        Assert.Equal(-0.99296875f, actual[0], 6);
        Assert.Contains(0f, actual);
    }

    [Theory]
    [InlineData("small")]
    [InlineData("multi")]
    [InlineData("ties")]
    [InlineData("mlp")]
    public void QuantizeAndDequantizeMatchTheReference(string name)
    {
        using var f = SafetensorsFile.Open(TestPaths.Reference("nf4", $"case_{name}.safetensors"));
        var shape = f.Info("input").Shape;
        int rows = (int)shape[0], cols = (int)shape[1];
        var q = Nf4Tensor.Quantize(f.ReadFloat32("input"), rows, cols);
        Assert.Equal(f.Bytes("packed").ToArray(), q.Packed);
        float offset = f.ReadFloat32("offset")[0];
        // Dequantization semantics, bit for bit: the reference's own stored state dequantized by us.
        var theirs = Nf4Tensor.FromParts(rows, cols, f.Bytes("packed").ToArray(), f.Bytes("qabsmax").ToArray(), f.ReadFloat32("scales"), offset);
        var theirsDequantized = theirs.Dequantize();
        var expectedBits = f.ReadFloat32("dequantized");
        for (int i = 0; i < expectedBits.Length; i++)
            Assert.True(BitConverter.SingleToInt32Bits(expectedBits[i]) == BitConverter.SingleToInt32Bits(theirsDequantized[i]), $"[{i}] {expectedBits[i]:R} vs {theirsDequantized[i]:R}");
        // Mean in double here (the correctly rounded mean), a float32 sum in torch (CPU cascade) or CUDA (tree): the
        // offset, and through it the scales and the dequantized values, may differ by an ulp, as they do between
        // bitsandbytes' own backends; the packed codes and the absmax codes must not.
        Assert.True(Math.Abs(offset - q.Offset) <= 4 * Math.Abs(MathF.BitIncrement(offset) - offset), $"offset {q.Offset:R} vs {offset:R}");
        var qabs = f.Bytes("qabsmax").ToArray();
        int differing = qabs.Zip(q.QuantizedAbsmax).Count(p => p.First != p.Second);
        Assert.True(differing == 0, $"{differing} of {qabs.Length} quantized absmax codes differ");
        var scales = f.ReadFloat32("scales");
        for (int i = 0; i < scales.Length; i++) Assert.Equal(scales[i], q.AbsmaxScales[i], 6);
        var expected = f.ReadFloat32("dequantized");
        var actual = q.Dequantize();
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-6 * Math.Max(1, Math.Abs(expected[i])), $"[{i}] {expected[i]:R} vs {actual[i]:R}");
    }

    [Fact]
    public void AnAllZeroBlockIsStoredAsCodeZeroAsBitsandbytesDoes()
    {
        // kQuantizeBlockwise: 1/0 = inf, 0·inf = NaN, the tree sends NaN to 0b0000; the default backend's argmin
        // over NaN distances also returns index 0. Elements 64…127 are zero, the rest are not.
        var w = new float[192];
        for (int i = 0; i < w.Length; i++) w[i] = i is >= 64 and < 128 ? 0f : 0.01f * (i % 7 - 3);
        var q = Nf4Tensor.Quantize(w, 3, 64);
        Assert.All(q.Packed[32..64], b => Assert.Equal(0x00, b));
        Assert.Contains(q.Packed[..32], b => b != 0x00);
        var absmax = q.BlockAbsmax();
        var d = q.Dequantize();
        for (int i = 64; i < 128; i++) Assert.Equal(-absmax[1], d[i]); // −1.0 · absmax′
        // absmax = (0.03, 0, 0.03), mean 0.02: the zero block's −0.02 is −1 in its 256-block, whose nearest signed-map
        // code is −0.99296875, so absmax′ = 0.02 · (1 − 0.99296875) ≈ 1.4e-4, not 0
        Assert.Equal(0.02f * (1 - 0.99296875f), absmax[1], 1e-6f);
    }

    [Fact]
    public void ErrorIsBoundedAndStorageIsUnderPointSixBytesPerParameter()
    {
        const int rows = 576, cols = 1536; // a SmolLM2 MLP projection
        var rng = new Random(11);
        var w = new float[rows * cols];
        for (int i = 0; i < w.Length; i++) w[i] = (float)(0.02 * Normal(rng));
        var q = Nf4Tensor.Quantize(w, rows, cols);
        var d = q.Dequantize();
        var absmax = q.BlockAbsmax();
        double sq = 0, sqW = 0;
        for (int i = 0; i < w.Length; i++)
        {
            float trueAbsmax = 0;
            for (int j = i / 64 * 64; j < i / 64 * 64 + 64; j++) trueAbsmax = Math.Max(trueAbsmax, Math.Abs(w[j]));
            // half the widest gap of the code book ((−0.6962 − (−1))/2: NF4 is asymmetric) at the true scale, plus the 8-bit error of the scale
            double bound = 0.1520 * trueAbsmax + Math.Abs(absmax[i / 64] - trueAbsmax) + 1e-7;
            Assert.True(Math.Abs(d[i] - w[i]) <= bound, $"[{i}] |{d[i]} − {w[i]}| > {bound}");
            Assert.True(Math.Abs(absmax[i / 64] - trueAbsmax) <= 0.02 * trueAbsmax, $"absmax of block {i / 64}");
            sq += (d[i] - w[i]) * (double)(d[i] - w[i]);
            sqW += w[i] * (double)w[i];
        }
        double relRms = Math.Sqrt(sq / sqW);
        Assert.InRange(relRms, 0.02, 0.15); // NF4 on Gaussian weights: ≈ 0.1 relative RMS error
        // 4 bits + one byte per 64 values + fp32 per 16,384 values + offset
        Assert.InRange(q.BytesPerParameter, 0.515, 0.517);
        Assert.True(q.BytesPerParameter <= 0.6);
    }

    [Theory]
    [InlineData(1, 70, 37)]
    [InlineData(5, 130, 200)]
    [InlineData(3, 64, 64)]
    public void FusedMatmulEqualsDequantizeThenMatmul(int m, int outFeatures, int inFeatures)
    {
        var rng = new Random(m * 1000 + outFeatures);
        var w = Enumerable.Range(0, outFeatures * inFeatures).Select(_ => (float)Normal(rng)).ToArray();
        var x = Enumerable.Range(0, m * inFeatures).Select(_ => (float)Normal(rng)).ToArray();
        var q = Nf4Tensor.Quantize(w, outFeatures, inFeatures);
        var absmax = q.BlockAbsmax();
        var wd = q.Dequantize();

        var y = new float[m * outFeatures];
        Nf4Matmul.Forward(x, m, q, absmax, y);
        var yRef = new float[m * outFeatures];
        Gemm.SgemmNaive(false, true, m, outFeatures, inFeatures, 1f, x, inFeatures, wd, inFeatures, 0f, yRef, outFeatures);
        for (int i = 0; i < y.Length; i++) Assert.True(Math.Abs(yRef[i] - y[i]) <= 1e-5 * (1 + Math.Abs(yRef[i])), $"y[{i}]");

        var dy = Enumerable.Range(0, m * outFeatures).Select(_ => (float)Normal(rng)).ToArray();
        var dx = Enumerable.Repeat(0.5f, m * inFeatures).ToArray(); // backward accumulates
        Nf4Matmul.BackwardInput(dy, m, q, absmax, dx);
        var dxRef = Enumerable.Repeat(0.5f, m * inFeatures).ToArray();
        Gemm.SgemmNaive(false, false, m, inFeatures, outFeatures, 1f, dy, outFeatures, wd, inFeatures, 1f, dxRef, inFeatures);
        for (int i = 0; i < dx.Length; i++) Assert.True(Math.Abs(dxRef[i] - dx[i]) <= 1e-5 * (1 + Math.Abs(dxRef[i])), $"dx[{i}]");
    }

    static double Normal(Random rng) => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
}
