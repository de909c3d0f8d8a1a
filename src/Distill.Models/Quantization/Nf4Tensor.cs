namespace Distill.Models.Quantization;

/// <summary>
/// A weight matrix W (rows × cols, PyTorch's [out, in]) held as NF4 with double quantization, laid out as
/// bitsandbytes' `quantize_4bit(A, blocksize=64, compress_statistics=True, quant_type="nf4")` lays it out:
/// the row-major flattening of W in blocks of 64, one packed byte per two values (first in the high nibble),
/// and the block absmax values themselves quantized: offset = mean(absmax); absmax − offset in blocks of 256
/// to 8 bits with the signed dynamic map, each 256-block with its own fp32 absmax (QLoRA §3, "Double Quantization").
/// </summary>
public sealed class Nf4Tensor
{
    public const int BlockSize = 64;
    public const int AbsmaxBlockSize = 256;

    public int Rows { get; }
    public int Cols { get; }
    public long Length => (long)Rows * Cols;
    /// <summary>(ceil(n/2)) two 4-bit code indices per byte, element 2i in the high nibble.</summary>
    public byte[] Packed { get; }
    /// <summary>(ceil(n/64)) 8-bit dynamic-map codes of absmax − offset.</summary>
    public byte[] QuantizedAbsmax { get; }
    /// <summary>(ceil(blocks/256)) fp32 absmax of each 256-block of (absmax − offset).</summary>
    public float[] AbsmaxScales { get; }
    /// <summary>Mean of the fp32 block absmax values, added back when dequantizing.</summary>
    public float Offset { get; }

    Nf4Tensor(int rows, int cols, byte[] packed, byte[] qAbsmax, float[] scales, float offset)
    {
        Rows = rows; Cols = cols; Packed = packed; QuantizedAbsmax = qAbsmax; AbsmaxScales = scales; Offset = offset;
    }

    /// <summary>Bytes stored: packed codes, 8-bit absmax codes, their fp32 scales and the fp32 offset.</summary>
    public long StoredBytes => Packed.Length + QuantizedAbsmax.Length + 4L * AbsmaxScales.Length + 4;

    /// <summary>Bytes held per weight: 4 bits + one byte per 64 + fp32 per 64·256 + the offset (≈ 0.516).</summary>
    public double BytesPerParameter => (double)StoredBytes / Length;

    /// <summary>
    /// An NF4 tensor from its stored parts (bitsandbytes' QuantState with nested statistics: weight bytes, absmax
    /// codes, state2.absmax, offset), e.g. to dequantize what another implementation quantized. Lengths are checked.
    /// </summary>
    public static Nf4Tensor FromParts(int rows, int cols, byte[] packed, byte[] quantizedAbsmax, float[] absmaxScales, float offset)
    {
        long n = (long)rows * cols;
        long blocks = (n + BlockSize - 1) / BlockSize;
        if (rows < 1 || cols < 1) throw new ArgumentException($"NF4 shape {rows}×{cols} must be positive");
        if (packed.Length != (n + 1) / 2) throw new ArgumentException($"NF4 {rows}×{cols}: {packed.Length} packed bytes, expected {(n + 1) / 2}");
        if (quantizedAbsmax.Length != blocks) throw new ArgumentException($"NF4 {rows}×{cols}: {quantizedAbsmax.Length} absmax codes, expected {blocks}");
        long scales = (blocks + AbsmaxBlockSize - 1) / AbsmaxBlockSize;
        if (absmaxScales.Length != scales) throw new ArgumentException($"NF4 {rows}×{cols}: {absmaxScales.Length} absmax scales, expected {scales}");
        return new Nf4Tensor(rows, cols, packed, quantizedAbsmax, absmaxScales, offset);
    }

    /// <param name="w">(rows, cols) row-major</param>
    public static Nf4Tensor Quantize(ReadOnlySpan<float> w, int rows, int cols)
    {
        long n = (long)rows * cols;
        if (w.Length != n) throw new ArgumentException($"{w.Length} values for a {rows}×{cols} matrix");
        int blocks = (int)((n + BlockSize - 1) / BlockSize);
        var absmax = new float[blocks];
        var packed = new byte[(n + 1) / 2];
        for (int b = 0; b < blocks; b++)
        {
            var block = w.Slice(b * BlockSize, (int)Math.Min(BlockSize, n - (long)b * BlockSize));
            float max = 0;
            foreach (float v in block) max = Math.Max(max, Math.Abs(v));
            absmax[b] = max;
            // The kernel multiplies by the reciprocal (kQuantizeBlockwise: `1.0f / local_abs_max`). An all-zero block
            // gets inf, 0·inf = NaN fails every comparison of the tree, and the block is stored as code 0 (−1.0), so it
            // dequantizes to −absmax′ (absmax′ ≈ 0 up to the double-quantization error) — bitsandbytes' CUDA and
            // default (CPU) backends both do this, and so do we, byte for byte.
            float inv = 1f / max;
            for (int j = 0; j < block.Length; j++)
            {
                long idx = (long)b * BlockSize + j;
                byte code = Nf4.Quantize(block[j] * inv);
                packed[idx >> 1] |= (idx & 1) == 0 ? (byte)(code << 4) : code;
            }
        }
        // Odd n: the missing last element is loaded as 0 by the kernel and scaled like its block (code 7, or 0 in an all-zero block).
        if ((n & 1) == 1) packed[^1] |= Nf4.Quantize(0f * (1f / absmax[^1]));

        // Double quantization of the absmax values (bitsandbytes quantize_4bit, compress_statistics=True).
        double sum = 0;
        foreach (float a in absmax) sum += a;
        float offset = (float)(sum / blocks);
        var centred = new float[blocks];
        for (int b = 0; b < blocks; b++) centred[b] = absmax[b] - offset;
        var qAbsmax = new byte[blocks];
        var scales = new float[(blocks + AbsmaxBlockSize - 1) / AbsmaxBlockSize];
        DynamicMap.QuantizeBlockwise(centred, AbsmaxBlockSize, qAbsmax, scales);
        return new Nf4Tensor(rows, cols, packed, qAbsmax, scales, offset);
    }

    /// <summary>absmax of every 64-block: dequant(q) + offset (bitsandbytes dequantize_4bit).</summary>
    public float[] BlockAbsmax()
    {
        var absmax = new float[QuantizedAbsmax.Length];
        DynamicMap.DequantizeBlockwise(QuantizedAbsmax, AbsmaxScales, AbsmaxBlockSize, absmax);
        for (int i = 0; i < absmax.Length; i++) absmax[i] += Offset;
        return absmax;
    }

    /// <summary>Dequantizes rows [row0, row0 + dst.Length / Cols) into dst (count, cols).</summary>
    public void DequantizeRows(int row0, Span<float> dst, ReadOnlySpan<float> absmax)
    {
        var code = Nf4.Code;
        long start = (long)row0 * Cols;
        for (int i = 0; i < dst.Length; i++)
        {
            long idx = start + i;
            byte pair = Packed[idx >> 1];
            int c = (idx & 1) == 0 ? pair >> 4 : pair & 0x0F;
            dst[i] = code[c] * absmax[(int)(idx / BlockSize)];
        }
    }

    public float[] Dequantize()
    {
        var w = new float[Length];
        DequantizeRows(0, w, BlockAbsmax());
        return w;
    }
}
