using Distill.Tensors;
using Distill.Tensors.Autograd;

namespace Distill.Models.Llama;

/// <summary>
/// Mistral's sliding-window causal attention for inference: query at absolute position p sees keys at positions
/// p − window &lt; j ≤ p (modeling_mistral.py masks j ≤ p − sliding_window), with grouped-query heads. Used only
/// when a sequence is longer than the window (otherwise the engine's CausalAttention is identical) and only
/// without gradients: training past the window is not implemented and says so.
/// </summary>
static class SlidingWindowAttention
{
    /// <param name="q">(batch·len, heads·hd) at positions [pos, pos + len)</param>
    /// <param name="k">keys (batch, kRows, kvHeads·hd) as one span with <paramref name="kRows"/> rows per sequence; v alike</param>
    /// <returns>(batch·len, heads·hd)</returns>
    public static Tensor Forward(Tape tape, Tensor q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, int kRows, int batch, int heads, int kvHeads, int pos, int window)
    {
        if (!tape.NoGrad && q.RequiresGrad)
            throw new NotSupportedException($"training with sequences longer than sliding_window = {window} is not implemented");
        int len = q.Rows / batch, hd = q.Cols / heads, kvw = kvHeads * hd, group = heads / kvHeads;
        var y = tape.New(q.Rows, q.Cols);
        float scale = 1f / MathF.Sqrt(hd);
        var scores = new float[pos + len];
        for (int b = 0; b < batch; b++)
            for (int i = 0; i < len; i++)
            {
                int p = pos + i, first = Math.Max(0, p - window + 1);
                var qi = q.Span.Slice((b * len + i) * q.Cols, q.Cols);
                var yi = y.Span.Slice((b * len + i) * q.Cols, q.Cols);
                yi.Clear();
                for (int h = 0; h < heads; h++)
                {
                    int kvh = h / group;
                    var qh = qi.Slice(h * hd, hd);
                    float max = float.NegativeInfinity;
                    for (int j = first; j <= p; j++)
                    {
                        var kj = k.Slice((b * kRows + j) * kvw + kvh * hd, hd);
                        float s = 0;
                        for (int d = 0; d < hd; d++) s += qh[d] * kj[d];
                        scores[j] = s * scale;
                        max = Math.Max(max, scores[j]);
                    }
                    double z = 0;
                    for (int j = first; j <= p; j++) { scores[j] = MathF.Exp(scores[j] - max); z += scores[j]; }
                    var yh = yi.Slice(h * hd, hd);
                    for (int j = first; j <= p; j++)
                    {
                        float w = (float)(scores[j] / z);
                        var vj = v.Slice((b * kRows + j) * kvw + kvh * hd, hd);
                        for (int d = 0; d < hd; d++) yh[d] += w * vj[d];
                    }
                }
            }
        return y;
    }

    /// <summary>Appends k, v (batch·len rows) to the cache at [pos, pos + len) and attends over it with the window.</summary>
    public static Tensor Decode(Tape tape, Tensor q, Tensor k, Tensor v, KvCache cache, int batch, int heads, int kvHeads, int pos, int window)
    {
        int len = q.Rows / batch, w = cache.Width;
        for (int b = 0; b < batch; b++)
        {
            k.Span.Slice(b * len * w, len * w).CopyTo(cache.K.Span.Slice((b * cache.Capacity + pos) * w, len * w));
            v.Span.Slice(b * len * w, len * w).CopyTo(cache.V.Span.Slice((b * cache.Capacity + pos) * w, len * w));
        }
        return Forward(tape, q, cache.K.Span, cache.V.Span, cache.Capacity, batch, heads, kvHeads, pos, window);
    }
}
