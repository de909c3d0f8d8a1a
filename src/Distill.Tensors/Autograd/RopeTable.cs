namespace Distill.Tensors.Autograd;

/// <summary>
/// cos/sin tables for RoPE: θ_i = base^(−2i/rotaryDim), i &lt; rotaryDim/2, angle = pos · θ_i,
/// computed in float32 in the same order as HF's LlamaRotaryEmbedding / torch_baseline.py
/// (inv_freq = 1/base^(arange(0, d, 2)/d); freqs = outer(pos, inv_freq)) so the numbers agree.
/// rotaryDim &lt; headDim gives Phi-2's partial rotary.
/// </summary>
public sealed class RopeTable : IDisposable
{
    public int HeadDim { get; }
    public int RotaryDim { get; }
    public int MaxPositions { get; }
    public Tensor Cos { get; }   // (maxPositions, rotaryDim/2)
    public Tensor Sin { get; }   // (maxPositions, rotaryDim/2)

    public RopeTable(int headDim, int maxPositions, int rotaryDim = -1, float theta = 10000f)
    {
        rotaryDim = rotaryDim < 0 ? headDim : rotaryDim;
        if (rotaryDim % 2 != 0 || rotaryDim > headDim || rotaryDim <= 0)
            throw new ArgumentException($"RopeTable: rotaryDim {rotaryDim} must be even, positive and ≤ headDim {headDim}");
        HeadDim = headDim; RotaryDim = rotaryDim; MaxPositions = maxPositions;
        int half = rotaryDim / 2;
        Cos = Tensor.Create(maxPositions, half);
        Sin = Tensor.Create(maxPositions, half);
        for (int i = 0; i < half; i++)
        {
            float inv = 1f / MathF.Pow(theta, (2 * i) / (float)rotaryDim);
            for (int p = 0; p < maxPositions; p++)
            {
                float a = p * inv;
                Cos[p * half + i] = MathF.Cos(a);
                Sin[p * half + i] = MathF.Sin(a);
            }
        }
    }

    public void Dispose() { Cos.Dispose(); Sin.Dispose(); }
}
