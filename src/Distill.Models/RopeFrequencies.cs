using Distill.Tensors.Autograd;

namespace Distill.Models;

/// <summary>
/// RoPE inverse frequencies as transformers' modeling_rope_utils.py computes them, including rope_scaling
/// "linear" (inv_freq / factor) and "llama3" (wavelengths longer than original_max / low_freq_factor divided by
/// factor, shorter than original_max / high_freq_factor kept, a linear blend between), and "longrope" (Phi-3:
/// inv_freq = 1 / (ext · θ^(2i/dim)) with ext the short factors while the sequence fits original_max_position_embeddings
/// and the long factors past it, cos and sin times the attention factor), in float32.
/// </summary>
public static class RopeFrequencies
{
    /// <summary>inv_freq (rotaryDim / 2) = 1 / θ^(2i / rotaryDim), then scaled; <paramref name="longFactors"/> picks longrope's long factors.</summary>
    public static float[] InverseFrequencies(ModelConfig c, bool longFactors = false)
    {
        int dim = c.RotaryDim, half = dim / 2;
        var inv = new float[half];
        if (c.RopeScaling is { Type: "longrope" } lr)
        {
            // inv_freq = 1.0 / (ext_factors * base**inv_freq_shape), all float32
            var ext = (longFactors ? lr.LongFactor : lr.ShortFactor)!;
            for (int i = 0; i < half; i++) inv[i] = 1f / (ext[i] * MathF.Pow((float)c.RopeTheta, 2 * i / (float)dim));
            return inv;
        }
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

    /// <summary>
    /// An engine RoPE table whose cos/sin use these frequencies (angle = position · inv_freq in float32, as torch),
    /// times the attention scaling (longrope; `emb.cos() * self.attention_scaling` in the rotary embedding's forward).
    /// </summary>
    public static RopeTable CreateTable(ModelConfig c, int maxPositions, bool longFactors = false)
    {
        var table = new RopeTable(c.HeadDim, maxPositions, c.RotaryDim, (float)c.RopeTheta);
        var inv = InverseFrequencies(c, longFactors);
        float scaling = (float)(c.RopeScaling?.AttentionScaling ?? 1);
        int half = inv.Length;
        for (int p = 0; p < maxPositions; p++)
            for (int i = 0; i < half; i++)
            {
                float a = p * inv[i];
                table.Cos[p * half + i] = MathF.Cos(a) * scaling;
                table.Sin[p * half + i] = MathF.Sin(a) * scaling;
            }
        return table;
    }

    /// <summary>
    /// longrope's switch (modeling_rope_utils.py dynamic_rope_update → longrope_frequency_update): a forward whose
    /// positions end past original_max_position_embeddings (max(position_ids) + 1 &gt; original_max) uses the long factors.
    /// </summary>
    public static bool UsesLongFactors(ModelConfig c, int endPosition)
        => c.RopeScaling is { Type: "longrope" } s && endPosition > s.OriginalMaxPositionEmbeddings;
}
