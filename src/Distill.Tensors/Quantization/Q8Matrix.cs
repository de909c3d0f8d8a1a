using System.Buffers.Binary;
using Distill.Tensors.Kernels;
using Distill.Tensors.Threading;

namespace Distill.Tensors.Quantization;

/// <summary>
/// A frozen weight W (rows × cols, PyTorch's [out, in]) in llama.cpp's q8_0 code: every row cut into blocks of 32,
/// each block 32 int8 q and one scale d (fp16 in the file, its exact float32 value here), W ≈ d·q
/// (<see cref="Q8Blocks.QuantizeBlock"/>, the GGUF writer's quantizer). In memory the layout is planar rather than
/// ggml's interleaved 34-byte blocks, so the int8 rows are 32-byte aligned for the dot-product kernels
/// (<see cref="Q8Gemm"/>); <see cref="WriteGguf"/> and <see cref="FromGguf"/> convert losslessly to and from the file's
/// blocks. The int8 codes are stored offset by 128 (q XOR 0x80 = q + 128 as an unsigned byte): vpdpbusd multiplies
/// unsigned by signed bytes, and the offset's contribution 128·Σx is subtracted on the activation side, per block.
/// 1.125 bytes per weight (1 code + 4 bytes of scale per 32).
/// The per-row option (<see cref="QuantizePerRow"/>, `--weights q8row`): symmetric int8 with one float32 scale per output
/// row, d = max|W_j| / 127 (the absmax form of LLM.int8()'s row-wise quantization, Dettmers et al. 2022, without its
/// outlier split), ≈ 1.0 byte per weight; the same codes and kernels, the block scale read as the row's.
/// </summary>
public sealed class Q8Matrix : IInferenceMatrix
{
    public int Rows { get; }
    public int Cols { get; }
    public int BlocksPerRow => Cols / Q8Blocks.BlockSize;
    /// <summary>One scale per row (q8row) instead of one per block of 32 (q8_0).</summary>
    public bool PerRow { get; }
    public string Format => PerRow ? "q8row" : "q8_0";
    /// <summary>Scales per row: 1 (per-row) or the row's block count.</summary>
    internal int ScalesPerRow => PerRow ? 1 : BlocksPerRow;

    /// <summary>(rows, cols) codes q + 128, pinned (the kernels take pointers without fixing).</summary>
    internal byte[] Codes { get; }
    /// <summary>(rows, blocks) scales d, each exactly representable in fp16.</summary>
    internal float[] Scales { get; }

    Q8Matrix(int rows, int cols, bool perRow = false)
    {
        if (rows < 1 || cols < 1 || cols % Q8Blocks.BlockSize != 0)
            throw new ArgumentException($"q8_0 needs rows ≥ 1 and a multiple of {Q8Blocks.BlockSize} columns, got [{rows}, {cols}]");
        Rows = rows;
        Cols = cols;
        Codes = GC.AllocateUninitializedArray<byte>(rows * cols, pinned: true);
        PerRow = perRow;
        Scales = GC.AllocateUninitializedArray<float>(rows * ScalesPerRow, pinned: true);
    }

    /// <summary>y (m, rows) = x (m, cols) · Wᵀ (<see cref="Q8Gemm"/>, x quantized to q8_0 per block on the fly).</summary>
    public void Forward(ReadOnlySpan<float> x, int m, Span<float> y) => Q8Gemm.Forward(x, m, this, y);

    /// <summary>
    /// Quantizes w (rows, cols) with one scale per row: d_j = max|W_j| / 127 in float32, q = round-half-away-from-zero(W/d)
    /// (0 for an all-zero row) — the q8_0 rule over the whole row, the scale kept in float32.
    /// </summary>
    public static unsafe Q8Matrix QuantizePerRow(ReadOnlySpan<float> w, int rows, int cols)
    {
        var m = new Q8Matrix(rows, cols, perRow: true);
        if (w.Length != (long)rows * cols) throw new ArgumentException($"q8row: {w.Length} values for a [{rows}, {cols}] weight");
        for (int r = 0; r < rows; r++)
        {
            var row = w.Slice(r * cols, cols);
            float amax = 0;
            foreach (float v in row) amax = MathF.Max(amax, MathF.Abs(v));
            float d = amax / 127f, id = d != 0 ? 1f / d : 0f;
            m.Scales[r] = d;
            for (int i = 0; i < cols; i++) m.Codes[(long)r * cols + i] = (byte)((sbyte)MathF.Round(row[i] * id, MidpointRounding.AwayFromZero) ^ unchecked((sbyte)0x80));
        }
        return m;
    }

    /// <summary>True when a [*, cols] weight can be held as q8_0 (cols a multiple of 32).</summary>
    public static bool Fits(int cols) => cols > 0 && cols % Q8Blocks.BlockSize == 0;

    /// <summary>Bytes held: the codes and the float32 scales.</summary>
    public long Bytes => Codes.LongLength + 4L * Scales.LongLength;

    /// <summary>Quantizes w (rows, cols) row-major, rows in parallel.</summary>
    public static unsafe Q8Matrix Quantize(ReadOnlySpan<float> w, int rows, int cols)
    {
        var m = new Q8Matrix(rows, cols);
        if (w.Length != (long)rows * cols) throw new ArgumentException($"q8_0: {w.Length} values for a [{rows}, {cols}] weight");
        fixed (float* p = w) Workers.For(rows, new QuantizeRows { W = p, M = m }, minChunk: 64);
        return m;
    }

    unsafe struct QuantizeRows : IRangeBody
    {
        public float* W;
        public Q8Matrix M;

        public readonly void Run(int begin, int end)
        {
            int cols = M.Cols, blocks = M.BlocksPerRow;
            Span<sbyte> q = stackalloc sbyte[Q8Blocks.BlockSize];
            for (int r = begin; r < end; r++)
                for (int b = 0; b < blocks; b++)
                {
                    long at = (long)r * cols + b * Q8Blocks.BlockSize;
                    M.Scales[r * blocks + b] = (float)Q8Blocks.QuantizeBlock(new ReadOnlySpan<float>(W + at, Q8Blocks.BlockSize), q);
                    for (int i = 0; i < Q8Blocks.BlockSize; i++) M.Codes[at + i] = (byte)(q[i] ^ unchecked((sbyte)0x80));
                }
        }
    }

    /// <summary>A matrix from its int8 codes (rows, cols) and block scales (rows, cols / 32) as given (tests, import).</summary>
    public static Q8Matrix FromCodes(ReadOnlySpan<sbyte> q, ReadOnlySpan<float> scales, int rows, int cols)
    {
        var m = new Q8Matrix(rows, cols);
        if (q.Length != rows * cols || scales.Length != m.Scales.Length) throw new ArgumentException($"q8_0: codes or scales do not match [{rows}, {cols}]");
        for (int i = 0; i < q.Length; i++) m.Codes[i] = (byte)(q[i] ^ unchecked((sbyte)0x80));
        scales.CopyTo(m.Scales);
        return m;
    }

    /// <summary>Reads ggml q8_0 blocks (34 bytes: fp16 d, 32 int8) of a (rows, cols) tensor, e.g. from a GGUF file.</summary>
    public static Q8Matrix FromGguf(ReadOnlySpan<byte> blocks, int rows, int cols)
    {
        var m = new Q8Matrix(rows, cols);
        const int bytes = 2 + Q8Blocks.BlockSize;
        if (blocks.Length != m.Scales.Length * bytes) throw new ArgumentException($"q8_0: {blocks.Length} bytes for a [{rows}, {cols}] tensor, expected {m.Scales.Length * bytes}");
        for (int b = 0; b < m.Scales.Length; b++)
        {
            var block = blocks.Slice(b * bytes, bytes);
            m.Scales[b] = (float)BinaryPrimitives.ReadHalfLittleEndian(block);
            for (int i = 0; i < Q8Blocks.BlockSize; i++) m.Codes[b * Q8Blocks.BlockSize + i] = (byte)(block[2 + i] ^ 0x80);
        }
        return m;
    }

    /// <summary>Writes the ggml q8_0 blocks of this matrix (rows · cols / 32 · 34 bytes): the bytes GgufExport writes for W.</summary>
    public void WriteGguf(Span<byte> dst)
    {
        if (PerRow) throw new InvalidOperationException("q8row has one float32 scale per row; GGUF's q8_0 has an fp16 scale per block of 32");
        const int bytes = 2 + Q8Blocks.BlockSize;
        if (dst.Length != Scales.Length * bytes) throw new ArgumentException("q8_0: output has the wrong length");
        for (int b = 0; b < Scales.Length; b++)
        {
            var block = dst.Slice(b * bytes, bytes);
            BinaryPrimitives.WriteHalfLittleEndian(block, (Half)Scales[b]);
            for (int i = 0; i < Q8Blocks.BlockSize; i++) block[2 + i] = (byte)(Codes[b * Q8Blocks.BlockSize + i] ^ 0x80);
        }
    }

    /// <summary>W ≈ d·q as float32 (rows, cols).</summary>
    public void Dequantize(Span<float> dst)
    {
        if (dst.Length != Codes.Length) throw new ArgumentException("q8_0: output has the wrong length");
        int per = PerRow ? Cols : Q8Blocks.BlockSize;
        for (int i = 0; i < dst.Length; i++) dst[i] = Scales[i / per] * (sbyte)(Codes[i] ^ 0x80);
    }
}
