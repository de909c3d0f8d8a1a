using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Distill.Tensors.Threading;

namespace Distill.Tensors.Kernels;

/// <summary>
/// The m == 1 path (decoding one token: y = x Wᵀ or y = x W): a matrix-vector product that streams B
/// once, with no packing. It is memory-bound, so the aim is one pass over B at full bandwidth:
///   op(B) = B  (K×N): 64 output columns held in 8 vector accumulators while k runs (rows of B are contiguous);
///   op(B) = Bᵀ (N×K): 4 outputs at a time, 4 dot products sharing each load of x.
/// Threads split the output columns in fixed groups, so results do not depend on the thread count.
/// </summary>
public static partial class Gemm
{
    const int GemvColumnGroup = 64; // op(B) = B: columns per group (8 × Vector256)
    const int GemvRowGroup = 4;     // op(B) = Bᵀ: rows of B per group

    static unsafe void Gemv(in Problem p, bool parallel)
    {
        float* x = p.A;
        if (p.TransA && p.Lda != 1)
        {
            // op(A) is a 1×K row of a K×1 column with stride lda: gather it once.
            x = PackBuffers.X(p.K);
            for (int q = 0; q < p.K; q++) x[q] = p.A[(long)q * p.Lda];
        }
        int group = p.TransB ? GemvRowGroup : GemvColumnGroup;
        int groups = (p.N + group - 1) / group;
        var body = new GemvBody(p, x);
        if (parallel && (long)p.N * p.K >= 1 << 16) Workers.For(groups, body, minChunk: Math.Max(1, (1 << 15) / (group * Math.Max(1, p.K))));
        else body.Run(0, groups);
    }

    readonly unsafe struct GemvBody(Problem p, float* x) : IRangeBody
    {
        public void Run(int begin, int end)
        {
            if (p.TransB) GemvRows(p, x, begin * GemvRowGroup, Math.Min(p.N, end * GemvRowGroup));
            else GemvColumns(p, x, begin * GemvColumnGroup, Math.Min(p.N, end * GemvColumnGroup));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static float Update(float acc, float alpha, float beta, float old) => beta == 0f ? alpha * acc : MathF.FusedMultiplyAdd(alpha, acc, beta * old);

    /// <summary>y[j] = alpha Σ_q x[q] B[q, j] + beta y[j] for j in [j0, j1); B stored K×N.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static unsafe void GemvColumns(in Problem p, float* x, int j0, int j1)
    {
        int k = p.K;
        long ldb = p.Ldb;
        float* y = p.C;
        int j = j0;
        for (; j + 64 <= j1; j += 64)
        {
            Vector256<float> s0 = default, s1 = default, s2 = default, s3 = default, s4 = default, s5 = default, s6 = default, s7 = default;
            float* b = p.B + j;
            for (int q = 0; q < k; q++, b += ldb)
            {
                var xv = Vector256.Create(x[q]);
                s0 = Vector256.FusedMultiplyAdd(xv, Vector256.Load(b), s0);
                s1 = Vector256.FusedMultiplyAdd(xv, Vector256.Load(b + 8), s1);
                s2 = Vector256.FusedMultiplyAdd(xv, Vector256.Load(b + 16), s2);
                s3 = Vector256.FusedMultiplyAdd(xv, Vector256.Load(b + 24), s3);
                s4 = Vector256.FusedMultiplyAdd(xv, Vector256.Load(b + 32), s4);
                s5 = Vector256.FusedMultiplyAdd(xv, Vector256.Load(b + 40), s5);
                s6 = Vector256.FusedMultiplyAdd(xv, Vector256.Load(b + 48), s6);
                s7 = Vector256.FusedMultiplyAdd(xv, Vector256.Load(b + 56), s7);
            }
            StoreGemv(y + j, s0, p.Alpha, p.Beta); StoreGemv(y + j + 8, s1, p.Alpha, p.Beta);
            StoreGemv(y + j + 16, s2, p.Alpha, p.Beta); StoreGemv(y + j + 24, s3, p.Alpha, p.Beta);
            StoreGemv(y + j + 32, s4, p.Alpha, p.Beta); StoreGemv(y + j + 40, s5, p.Alpha, p.Beta);
            StoreGemv(y + j + 48, s6, p.Alpha, p.Beta); StoreGemv(y + j + 56, s7, p.Alpha, p.Beta);
        }
        for (; j + 8 <= j1; j += 8)
        {
            Vector256<float> s = default;
            float* b = p.B + j;
            for (int q = 0; q < k; q++, b += ldb) s = Vector256.FusedMultiplyAdd(Vector256.Create(x[q]), Vector256.Load(b), s);
            StoreGemv(y + j, s, p.Alpha, p.Beta);
        }
        for (; j < j1; j++)
        {
            float s = 0f;
            float* b = p.B + j;
            for (int q = 0; q < k; q++, b += ldb) s = MathF.FusedMultiplyAdd(x[q], *b, s);
            y[j] = Update(s, p.Alpha, p.Beta, y[j]);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static unsafe void StoreGemv(float* y, Vector256<float> s, float alpha, float beta)
    {
        var v = Vector256.Create(alpha) * s;
        if (beta != 0f) v = Vector256.FusedMultiplyAdd(Vector256.Create(beta), Vector256.Load(y), v);
        Vector256.Store(v, y);
    }

    /// <summary>y[j] = alpha · dot(x, B[j, :]) + beta y[j] for j in [j0, j1); B stored N×K (y = x Wᵀ).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static unsafe void GemvRows(in Problem p, float* x, int j0, int j1)
    {
        int k = p.K;
        long ldb = p.Ldb;
        int j = j0;
        for (; j + 4 <= j1; j += 4)
        {
            float* b0 = p.B + j * ldb, b1 = b0 + ldb, b2 = b1 + ldb, b3 = b2 + ldb;
            // Two accumulators per output (16 floats a step): one chain of dependent FMAs per output would make
            // the loop wait on FMA latency rather than on loads.
            Vector256<float> s0 = default, s1 = default, s2 = default, s3 = default;
            Vector256<float> t0 = default, t1 = default, t2 = default, t3 = default;
            int q = 0;
            for (; q + 16 <= k; q += 16)
            {
                var xv = Vector256.Load(x + q);
                var xw = Vector256.Load(x + q + 8);
                s0 = Vector256.FusedMultiplyAdd(xv, Vector256.Load(b0 + q), s0); t0 = Vector256.FusedMultiplyAdd(xw, Vector256.Load(b0 + q + 8), t0);
                s1 = Vector256.FusedMultiplyAdd(xv, Vector256.Load(b1 + q), s1); t1 = Vector256.FusedMultiplyAdd(xw, Vector256.Load(b1 + q + 8), t1);
                s2 = Vector256.FusedMultiplyAdd(xv, Vector256.Load(b2 + q), s2); t2 = Vector256.FusedMultiplyAdd(xw, Vector256.Load(b2 + q + 8), t2);
                s3 = Vector256.FusedMultiplyAdd(xv, Vector256.Load(b3 + q), s3); t3 = Vector256.FusedMultiplyAdd(xw, Vector256.Load(b3 + q + 8), t3);
            }
            if (q + 8 <= k)
            {
                var xv = Vector256.Load(x + q);
                s0 = Vector256.FusedMultiplyAdd(xv, Vector256.Load(b0 + q), s0);
                s1 = Vector256.FusedMultiplyAdd(xv, Vector256.Load(b1 + q), s1);
                s2 = Vector256.FusedMultiplyAdd(xv, Vector256.Load(b2 + q), s2);
                s3 = Vector256.FusedMultiplyAdd(xv, Vector256.Load(b3 + q), s3);
                q += 8;
            }
            float d0 = Vector256.Sum(s0 + t0), d1 = Vector256.Sum(s1 + t1), d2 = Vector256.Sum(s2 + t2), d3 = Vector256.Sum(s3 + t3);
            for (; q < k; q++)
            {
                d0 = MathF.FusedMultiplyAdd(x[q], b0[q], d0); d1 = MathF.FusedMultiplyAdd(x[q], b1[q], d1);
                d2 = MathF.FusedMultiplyAdd(x[q], b2[q], d2); d3 = MathF.FusedMultiplyAdd(x[q], b3[q], d3);
            }
            p.C[j] = Update(d0, p.Alpha, p.Beta, p.C[j]); p.C[j + 1] = Update(d1, p.Alpha, p.Beta, p.C[j + 1]);
            p.C[j + 2] = Update(d2, p.Alpha, p.Beta, p.C[j + 2]); p.C[j + 3] = Update(d3, p.Alpha, p.Beta, p.C[j + 3]);
        }
        for (; j < j1; j++)
        {
            float* b0 = p.B + j * ldb;
            Vector256<float> s0 = default;
            int q = 0;
            for (; q + 8 <= k; q += 8) s0 = Vector256.FusedMultiplyAdd(Vector256.Load(x + q), Vector256.Load(b0 + q), s0);
            float d0 = Vector256.Sum(s0);
            for (; q < k; q++) d0 = MathF.FusedMultiplyAdd(x[q], b0[q], d0);
            p.C[j] = Update(d0, p.Alpha, p.Beta, p.C[j]);
        }
    }
}
