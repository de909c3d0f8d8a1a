using System.Numerics.Tensors;

namespace Distill.Tensors.Kernels;

/// <summary>
/// RMSNorm (Zhang &amp; Sennrich 2019) and LayerNorm (Ba et al. 2016) over the last dimension,
/// forward and backward side by side. Statistics are accumulated in double: rows are short
/// (≤ a few thousand) so it costs little and keeps the float32 result within rounding of PyTorch's.
/// Forward overwrites its outputs; backward adds into dx, dw, db.
/// </summary>
public static unsafe class NormKernels
{
    // Rows per chunk: a row is ~0.1–1 µs of work, so 64 rows amortise a fork/join.
    const int MinRows = 64;
    // Columns per chunk of the dw/db pass (each chunk sweeps every row for its columns).
    const int MinCols = 64;
    const int MaxDim = 16384;   // stackalloc bound for a row's temporaries

    // x: (rows, dim)  w: (dim)  y: (rows, dim)  rstd: (rows), saved for backward
    // y = x · rstd · w,  rstd = 1/√(mean(x²) + eps)   (HF LlamaRMSNorm)
    public static void RmsNormForward(ReadOnlySpan<float> x, ReadOnlySpan<float> w, float eps, int dim, Span<float> y, Span<float> rstd)
    {
        int rows = Check(x, w, dim, y, rstd);
        fixed (float* px = x, pw = w, py = y, pr = rstd)
            Pointwise.For(rows, new Pointwise.Args { A = px, B = pw, C = py, D = pr, Dim = dim, F0 = eps }, &RmsForwardRows, MinRows);
    }

    static void RmsForwardRows(in Pointwise.Args a, int r0, int r1)
    {
        int dim = a.Dim;
        var w = new ReadOnlySpan<float>(a.B, dim);
        for (int r = r0; r < r1; r++)
        {
            var xr = new ReadOnlySpan<float>(a.A + (long)r * dim, dim);
            var yr = new Span<float>(a.C + (long)r * dim, dim);
            float rs = 1f / MathF.Sqrt(TensorPrimitives.SumOfSquares(xr) / dim + a.F0);
            a.D[r] = rs;
            TensorPrimitives.Multiply(xr, rs, yr);
            TensorPrimitives.Multiply(yr, w, yr);
        }
    }

    // with g = dy·w:  dx = rstd·g − x · rstd³ · (Σ g·x)/dim;  dw += Σ_rows dy · x · rstd
    public static void RmsNormBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> rstd, ReadOnlySpan<float> dy,
        int dim, Span<float> dx, Span<float> dw)
    {
        int rows = Check(x, w, dim, dy, rstd);
        if (dim > MaxDim) throw new ArgumentException($"norm: dim {dim} exceeds {MaxDim}");
        fixed (float* px = x, pw = w, pr = rstd, pdy = dy, pdx = dx, pdw = dw)
        {
            var args = new Pointwise.Args { A = px, B = pw, C = pr, D = pdy, E = pdx, Dim = dim, N = rows };
            if (pdx != null) Pointwise.For(rows, args, &RmsBackwardRows, MinRows);
            // dw: a reduction over rows, split by columns so each dw entry has one writer (and one summation order)
            if (pdw != null) Pointwise.For(dim, args with { E = pdw }, &RmsWeightGradCols, MinCols);
        }
    }

    static void RmsBackwardRows(in Pointwise.Args a, int r0, int r1)
    {
        int dim = a.Dim;
        var w = new ReadOnlySpan<float>(a.B, dim);
        Span<float> g = stackalloc float[dim];
        for (int r = r0; r < r1; r++)
        {
            var xr = new ReadOnlySpan<float>(a.A + (long)r * dim, dim);
            var dyr = new ReadOnlySpan<float>(a.D + (long)r * dim, dim);
            var dxr = new Span<float>(a.E + (long)r * dim, dim);
            float rs = a.C[r];
            TensorPrimitives.Multiply(dyr, w, g);                       // g = dy·w
            float c = TensorPrimitives.Dot(g, xr) * rs * rs * rs / dim;
            TensorPrimitives.MultiplyAdd(g, rs, dxr, dxr);              // dx += rstd·g
            TensorPrimitives.MultiplyAdd(xr, -c, dxr, dxr);             // dx −= c·x
        }
    }

    static void RmsWeightGradCols(in Pointwise.Args a, int c0, int c1)
    {
        int dim = a.Dim, n = c1 - c0;
        var dw = new Span<float>(a.E + c0, n);
        Span<float> t = stackalloc float[n];
        for (int r = 0; r < a.N; r++)
        {
            TensorPrimitives.Multiply(new ReadOnlySpan<float>(a.D + (long)r * dim + c0, n), new ReadOnlySpan<float>(a.A + (long)r * dim + c0, n), t);
            TensorPrimitives.MultiplyAdd(t, a.C[r], dw, dw);            // dw += dy·x·rstd
        }
    }

    // x: (rows, dim)  w, b: (dim)  y: (rows, dim)  mean, rstd: (rows), saved for backward
    // y = (x − mean) · rstd · w + b,  rstd = 1/√(var + eps)  (biased variance, as torch.nn.LayerNorm)
    public static void LayerNormForward(ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> b, float eps, int dim,
        Span<float> y, Span<float> mean, Span<float> rstd)
    {
        int rows = Check(x, w, dim, y, rstd);
        if (b.Length != dim || mean.Length != rows) throw new ArgumentException("norm: bias or mean has the wrong length");
        fixed (float* px = x, pw = w, pb = b, py = y, pm = mean, pr = rstd)
        {
            Pointwise.For(rows, new Pointwise.Args { A = px, B = pw, C = pb, D = py, E = pm, F = pr, Dim = dim, F0 = eps }, &LayerNormForwardRows, MinRows);
        }
    }

    static void LayerNormForwardRows(in Pointwise.Args a, int r0, int r1)
    {
        int dim = a.Dim;
        var w = new ReadOnlySpan<float>(a.B, dim);
        var b = new ReadOnlySpan<float>(a.C, dim);
        float* rstd = a.F;
        for (int r = r0; r < r1; r++)
        {
            var xr = new ReadOnlySpan<float>(a.A + (long)r * dim, dim);
            var yr = new Span<float>(a.D + (long)r * dim, dim);
            float m = TensorPrimitives.Sum(xr) / dim;
            TensorPrimitives.Subtract(xr, m, yr);                       // y = x − mean (two-pass variance, as torch)
            float rs = 1f / MathF.Sqrt(TensorPrimitives.SumOfSquares(yr) / dim + a.F0);
            a.E[r] = m;
            rstd[r] = rs;
            TensorPrimitives.Multiply(yr, rs, yr);
            TensorPrimitives.MultiplyAdd(yr, w, b, yr);
        }
    }

    // n = (x − mean)·rstd, g = dy·w:  dx = rstd · (g − mean(g) − n · mean(g·n));  dw += Σ dy·n;  db += Σ dy   (llm.c layernorm_backward)
    public static void LayerNormBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> mean, ReadOnlySpan<float> rstd,
        ReadOnlySpan<float> dy, int dim, Span<float> dx, Span<float> dw, Span<float> db)
    {
        int rows = Check(x, w, dim, dy, rstd);
        if (dim > MaxDim) throw new ArgumentException($"norm: dim {dim} exceeds {MaxDim}");
        fixed (float* px = x, pw = w, pm = mean, pr = rstd, pdy = dy, pdx = dx, pdw = dw, pdb = db)
        {
            // F = dx, G = dw; db rides in F for the column pass (dx is not touched there)
            var args = new Pointwise.Args { A = px, B = pw, C = pm, D = pr, E = pdy, Dim = dim, N = rows };
            if (pdx != null) Pointwise.For(rows, args with { F = pdx }, &LayerNormBackwardRows, MinRows);
            if (pdw != null || pdb != null) Pointwise.For(dim, args with { F = pdb, G = pdw }, &LayerNormParamGradCols, MinCols);
        }
    }

    static void LayerNormBackwardRows(in Pointwise.Args a, int r0, int r1)
    {
        int dim = a.Dim;
        var w = new ReadOnlySpan<float>(a.B, dim);
        Span<float> g = stackalloc float[dim];
        Span<float> n = stackalloc float[dim];
        for (int r = r0; r < r1; r++)
        {
            var xr = new ReadOnlySpan<float>(a.A + (long)r * dim, dim);
            var dyr = new ReadOnlySpan<float>(a.E + (long)r * dim, dim);
            var dxr = new Span<float>(a.F + (long)r * dim, dim);
            float m = a.C[r], rs = a.D[r];
            TensorPrimitives.Multiply(dyr, w, g);                       // g = dy·w
            TensorPrimitives.Subtract(xr, m, n);
            TensorPrimitives.Multiply(n, rs, n);                        // n = (x − mean)·rstd
            float mg = TensorPrimitives.Sum(g) / dim, mgn = TensorPrimitives.Dot(g, n) / dim;
            TensorPrimitives.Subtract(g, mg, g);                        // g − mean(g)
            TensorPrimitives.MultiplyAdd(n, -mgn, g, g);                // − n·mean(g·n)
            TensorPrimitives.MultiplyAdd(g, rs, dxr, dxr);              // dx += rstd·(…)
        }
    }

    static void LayerNormParamGradCols(in Pointwise.Args a, int c0, int c1)
    {
        int dim = a.Dim, len = c1 - c0;
        Span<float> n = stackalloc float[len];
        var dw = a.G == null ? default : new Span<float>(a.G + c0, len);
        var db = a.F == null ? default : new Span<float>(a.F + c0, len);
        for (int r = 0; r < a.N; r++)
        {
            var dyr = new ReadOnlySpan<float>(a.E + (long)r * dim + c0, len);
            if (!db.IsEmpty) TensorPrimitives.Add(db, dyr, db);
            if (dw.IsEmpty) continue;
            TensorPrimitives.Subtract(new ReadOnlySpan<float>(a.A + (long)r * dim + c0, len), a.C[r], n);
            TensorPrimitives.Multiply(n, a.D[r], n);
            TensorPrimitives.MultiplyAdd(dyr, n, dw, dw);
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
