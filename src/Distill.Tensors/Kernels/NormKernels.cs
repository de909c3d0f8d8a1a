namespace Distill.Tensors.Kernels;

/// <summary>
/// RMSNorm (Zhang &amp; Sennrich 2019) and LayerNorm (Ba et al. 2016) over the last dimension,
/// forward and backward side by side. Statistics are accumulated in double: rows are short
/// (≤ a few thousand) so it costs little and keeps the float32 result within rounding of PyTorch's.
/// Forward overwrites its outputs; backward adds into dx, dw, db.
/// </summary>
public static class NormKernels
{
    // x: (rows, dim)  w: (dim)  y: (rows, dim)  rstd: (rows), saved for backward
    // y = x · rstd · w,  rstd = 1/√(mean(x²) + eps)   (HF LlamaRMSNorm)
    public static void RmsNormForward(ReadOnlySpan<float> x, ReadOnlySpan<float> w, float eps, int dim, Span<float> y, Span<float> rstd)
    {
        int rows = Check(x, w, dim, y, rstd);
        for (int r = 0; r < rows; r++)
        {
            var xr = x.Slice(r * dim, dim);
            var yr = y.Slice(r * dim, dim);
            double ss = 0;
            for (int i = 0; i < dim; i++) ss += (double)xr[i] * xr[i];
            float rs = (float)(1.0 / Math.Sqrt(ss / dim + eps));
            rstd[r] = rs;
            for (int i = 0; i < dim; i++) yr[i] = xr[i] * rs * w[i];
        }
    }

    // with g = dy·w:  dx = rstd·g − x · rstd³ · (Σ g·x)/dim;  dw += Σ_rows dy · x · rstd
    public static void RmsNormBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> rstd, ReadOnlySpan<float> dy,
        int dim, Span<float> dx, Span<float> dw)
    {
        int rows = Check(x, w, dim, dy, rstd);
        for (int r = 0; r < rows; r++)
        {
            var xr = x.Slice(r * dim, dim);
            var dyr = dy.Slice(r * dim, dim);
            float rs = rstd[r];
            if (!dx.IsEmpty)
            {
                double dot = 0;
                for (int i = 0; i < dim; i++) dot += (double)dyr[i] * w[i] * xr[i];
                float c = (float)(dot * rs * rs * rs / dim);
                var dxr = dx.Slice(r * dim, dim);
                for (int i = 0; i < dim; i++) dxr[i] += rs * dyr[i] * w[i] - c * xr[i];
            }
            if (!dw.IsEmpty)
                for (int i = 0; i < dim; i++) dw[i] += dyr[i] * xr[i] * rs;
        }
    }

    // x: (rows, dim)  w, b: (dim)  y: (rows, dim)  mean, rstd: (rows), saved for backward
    // y = (x − mean) · rstd · w + b,  rstd = 1/√(var + eps)  (biased variance, as torch.nn.LayerNorm)
    public static void LayerNormForward(ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> b, float eps, int dim,
        Span<float> y, Span<float> mean, Span<float> rstd)
    {
        int rows = Check(x, w, dim, y, rstd);
        for (int r = 0; r < rows; r++)
        {
            var xr = x.Slice(r * dim, dim);
            var yr = y.Slice(r * dim, dim);
            double s = 0;
            for (int i = 0; i < dim; i++) s += xr[i];
            double m = s / dim, v = 0;
            for (int i = 0; i < dim; i++) { double d = xr[i] - m; v += d * d; }
            float rs = (float)(1.0 / Math.Sqrt(v / dim + eps)), mf = (float)m;
            mean[r] = mf;
            rstd[r] = rs;
            for (int i = 0; i < dim; i++) yr[i] = (xr[i] - mf) * rs * w[i] + b[i];
        }
    }

    // n = (x − mean)·rstd, g = dy·w:  dx = rstd · (g − mean(g) − n · mean(g·n));  dw += Σ dy·n;  db += Σ dy   (llm.c layernorm_backward)
    public static void LayerNormBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> mean, ReadOnlySpan<float> rstd,
        ReadOnlySpan<float> dy, int dim, Span<float> dx, Span<float> dw, Span<float> db)
    {
        int rows = Check(x, w, dim, dy, rstd);
        for (int r = 0; r < rows; r++)
        {
            var xr = x.Slice(r * dim, dim);
            var dyr = dy.Slice(r * dim, dim);
            float m = mean[r], rs = rstd[r];
            if (!dx.IsEmpty)
            {
                double sg = 0, sgn = 0;
                for (int i = 0; i < dim; i++)
                {
                    double g = (double)dyr[i] * w[i], n = (xr[i] - m) * rs;
                    sg += g;
                    sgn += g * n;
                }
                float mg = (float)(sg / dim), mgn = (float)(sgn / dim);
                var dxr = dx.Slice(r * dim, dim);
                for (int i = 0; i < dim; i++)
                {
                    float n = (xr[i] - m) * rs;
                    dxr[i] += rs * (dyr[i] * w[i] - mg - n * mgn);
                }
            }
            if (!dw.IsEmpty)
                for (int i = 0; i < dim; i++) dw[i] += dyr[i] * (xr[i] - m) * rs;
            if (!db.IsEmpty)
                for (int i = 0; i < dim; i++) db[i] += dyr[i];
        }
    }

    static int Check(ReadOnlySpan<float> x, ReadOnlySpan<float> w, int dim, ReadOnlySpan<float> y, ReadOnlySpan<float> stat)
    {
        if (dim <= 0 || x.Length % dim != 0) throw new ArgumentException($"norm: x has {x.Length} values, not a multiple of dim {dim}");
        int rows = x.Length / dim;
        if (w.Length != dim) throw new ArgumentException($"norm: weight has {w.Length} values, dim is {dim}");
        if (y.Length != x.Length) throw new ArgumentException($"norm: y/dy has {y.Length} values, x has {x.Length}");
        if (stat.Length != rows) throw new ArgumentException($"norm: saved statistics have {stat.Length} values for {rows} rows");
        return rows;
    }
}
