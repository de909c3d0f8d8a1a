namespace Distill.Models.Quantization;

/// <summary>
/// bitsandbytes' 8-bit dynamic quantization map and blockwise 8-bit quantization, used by NF4's double
/// quantization of the block absmax values (bitsandbytes/functional.py `create_dynamic_map`,
/// backends/default/ops.py `quantize_blockwise` / `dequantize_blockwise`).
/// </summary>
public static class DynamicMap
{
    static readonly float[] SignedMap = Create(signed: true);

    /// <summary>The 256-entry signed map (create_dynamic_map(signed=True, max_exponent_bits=7, total_bits=8)).</summary>
    public static ReadOnlySpan<float> Signed => SignedMap;

    /// <summary>
    /// Port of create_dynamic_map in float32, as torch computes it: for exponent i = 0..6, 2^i (signed) fraction
    /// items from the midpoints of linspace(0.1, 1, 2^i + 1), scaled by 10^(i − 6), with both signs; then 0 and 1;
    /// sorted. With 7 exponent bits there are no "additional items".
    /// </summary>
    public static float[] Create(bool signed, int maxExponentBits = 7, int totalBits = 8)
    {
        var data = new List<float>();
        int nonSignBits = totalBits - 1;
        int additional = (1 << (nonSignBits - maxExponentBits)) - 1;
        int i = 0;
        for (; i < maxExponentBits; i++)
        {
            int fractionItems = signed ? (1 << (i + nonSignBits - maxExponentBits)) + 1 : (1 << (i + nonSignBits - maxExponentBits + 1)) + 1;
            AddScaledMeans(data, fractionItems, i, maxExponentBits, signed);
        }
        if (additional > 0) AddScaledMeans(data, additional + 1, i - 1, maxExponentBits, signed);
        data.Add(0f);
        data.Add(1f);
        while (data.Count < 1 << totalBits) data.Add(0f);
        data.Sort();
        return data.ToArray();
    }

    static void AddScaledMeans(List<float> data, int items, int i, int maxExponentBits, bool signed)
    {
        var boundaries = Linspace(0.1f, 1f, items);
        // 10 ** (-(max_exponent_bits - 1) + i): a Python float (or int 1), applied to a float32 tensor in float32.
        float scale = (float)Math.Pow(10, -(maxExponentBits - 1) + i);
        for (int k = 0; k + 1 < boundaries.Length; k++)
        {
            float mean = (boundaries[k] + boundaries[k + 1]) / 2f;
            data.Add(scale * mean);
        }
        if (signed)
            for (int k = 0; k + 1 < boundaries.Length; k++)
                data.Add(-scale * ((boundaries[k] + boundaries[k + 1]) / 2f));
    }

    /// <summary>
    /// torch.linspace in float32 as the torch 1.13 CPU kernel computes it on an AVX2 build (RangeFactoriesKernel.cpp),
    /// which the reference map was generated with: a scalar element is start + step·i (first half) or
    /// end − step·(steps − 1 − i) (second half), contracted by the compiler into one fused multiply-add; the
    /// vectorized loop runs while 16 elements remain, two 8-lane `arange(base, step)` per pass, each lane
    /// base + k·step rounded twice. The result differs from a naive float loop in the last bit of a few entries.
    /// </summary>
    static float[] Linspace(float start, float end, int steps)
    {
        var r = new float[steps];
        if (steps == 1) { r[0] = start; return r; }
        float step = (end - start) / (steps - 1);
        int halfway = steps / 2;
        float Scalar(int i) => i < halfway ? MathF.FusedMultiplyAdd(step, i, start) : MathF.FusedMultiplyAdd(-step, steps - i - 1, end);
        const int lanes = 8;
        int idx = 0;
        for (; idx <= steps - 2 * lanes; idx += 2 * lanes)
            for (int v = idx; v < idx + 2 * lanes; v += lanes)
            {
                float baseValue = Scalar(v);
                for (int k = 0; k < lanes; k++) r[v + k] = k == 0 ? baseValue : baseValue + k * step;
            }
        for (; idx < steps; idx++) r[idx] = Scalar(idx);
        return r;
    }

    /// <summary>
    /// Blockwise 8-bit quantization: per block absmax, scaled = clamp(a · (1/absmax), −1, 1), index = number of
    /// code midpoints strictly below the value (torch.bucketize, right=False — a tie goes to the lower code).
    /// </summary>
    /// <param name="a">values (n)</param><param name="q">codes (n)</param><param name="absmax">(ceil(n / blockSize))</param>
    public static void QuantizeBlockwise(ReadOnlySpan<float> a, int blockSize, Span<byte> q, Span<float> absmax)
    {
        int blocks = (a.Length + blockSize - 1) / blockSize;
        if (q.Length != a.Length || absmax.Length != blocks) throw new ArgumentException("output lengths do not match the input");
        Span<float> bounds = stackalloc float[255];
        var code = Signed;
        for (int i = 0; i < 255; i++) bounds[i] = (code[i] + code[i + 1]) / 2f;
        for (int b = 0; b < blocks; b++)
        {
            var block = a.Slice(b * blockSize, Math.Min(blockSize, a.Length - b * blockSize));
            float max = 0;
            foreach (float v in block) max = Math.Max(max, Math.Abs(v));
            absmax[b] = max;
            float inv = 1f / Math.Max(max, 1e-38f);
            for (int j = 0; j < block.Length; j++)
            {
                float s = Math.Clamp(block[j] * inv, -1f, 1f);
                // lower bound: first midpoint >= s
                int lo = 0, hi = 255;
                while (lo < hi) { int mid = (lo + hi) >> 1; if (bounds[mid] < s) lo = mid + 1; else hi = mid; }
                q[b * blockSize + j] = (byte)lo;
            }
        }
    }

    public static void DequantizeBlockwise(ReadOnlySpan<byte> q, ReadOnlySpan<float> absmax, int blockSize, Span<float> dst)
    {
        var code = Signed;
        for (int i = 0; i < q.Length; i++) dst[i] = code[q[i]] * absmax[i / blockSize];
    }
}
