using Distill.Tensors.Autograd;

namespace Distill.Models;

/// <summary>
/// RoPE inverse frequencies as transformers' modeling_rope_utils.py computes them, including rope_scaling
/// "linear" (inv_freq / factor) and "llama3" (wavelengths longer than original_max / low_freq_factor divided by
/// factor, shorter than original_max / high_freq_factor kept, a linear blend between), in float32.
/// </summary>
public static class RopeFrequencies
{
    /// <summary>inv_freq (rotaryDim / 2) = 1 / θ^(2i / rotaryDim), then scaled.</summary>
    public static float[] InverseFrequencies(ModelConfig c)
    {
        int dim = c.RotaryDim, half = dim / 2;
        var inv = new float[half];
        for (int i = 0; i < half; i++) inv[i] = 1f / MathF.Pow((float)c.RopeTheta, 2 * i / (float)dim);
        if (c.RopeScaling is not { } s) return inv;
        float factor = (float)s.Factor;
        if (s.Type == "linear")
        {
            for (int i = 0; i < half; i++) inv[i] /= factor;
            return inv;
        }
        // llama3 (_compute_llama3_parameters)
        float old = s.OriginalMaxPositionEmbeddings, low = (float)s.LowFreqFactor, high = (float)s.HighFreqFactor;
        float lowWavelen = old / low, highWavelen = old / high;
        for (int i = 0; i < half; i++)
        {
            float wavelen = 2 * MathF.PI / inv[i];
            float scaled = wavelen > lowWavelen ? inv[i] / factor : inv[i];
            if (!(wavelen < highWavelen) && !(wavelen > lowWavelen))
            {
                float smooth = (old / wavelen - low) / (high - low);
                scaled = (1 - smooth) * scaled / factor + smooth * scaled;
            }
            inv[i] = scaled;
        }
        return inv;
    }

    /// <summary>An engine RoPE table whose cos/sin use these frequencies (angle = position · inv_freq in float32, as torch).</summary>
    public static RopeTable CreateTable(ModelConfig c, int maxPositions)
    {
        var table = new RopeTable(c.HeadDim, maxPositions, c.RotaryDim, (float)c.RopeTheta);
        var inv = InverseFrequencies(c);
        int half = inv.Length;
        for (int p = 0; p < maxPositions; p++)
            for (int i = 0; i < half; i++)
            {
                float a = p * inv[i];
                table.Cos[p * half + i] = MathF.Cos(a);
                table.Sin[p * half + i] = MathF.Sin(a);
            }
        return table;
    }
}
