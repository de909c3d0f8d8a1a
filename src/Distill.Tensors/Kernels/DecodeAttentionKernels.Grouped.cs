using System.Buffers;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Distill.Tensors.Threading;

namespace Distill.Tensors.Kernels;

/// <summary>
/// The ragged decode attention by prompt: consecutive rows that share a prefix (same prefix row and length, no sliding
/// window — a prompt's n samples) form one group, and a unit is (group, kv heads). Each shared key and value is read
/// from memory once for all the group's rows and query heads, and a row's own keys (what it generated) once for its
/// query heads; a decoding step is bound by these reads (rows × positions × 2 × kv width floats per layer), so the
/// shared prompt costs 1/n of its per-row price. With enough groups for the threads a unit takes every kv head (the
/// key rows are then read whole, contiguously); otherwise one kv head. Dot products and the value sums run in
/// Vector256 lanes (head dim a multiple of 8). Same results as the per-row unit up to summation order.
/// </summary>
public static unsafe partial class DecodeAttentionKernels
{
    /// <summary>Rows per group at most (the scores of a unit: rows × heads × keys floats).</summary>
    const int MaxGroupRows = 16;

    static void Grouped(in DecodeAttentionLayout l)
    {
        var starts = new List<int>(l.Batch + 1) { 0 };
        for (int b = 1; b < l.Batch; b++)
        {
            bool same = l.Window == 0 && l.PrefixRows != null && b - starts[^1] < MaxGroupRows
                && l.PrefixRows[b] == l.PrefixRows[b - 1] && l.PrefixLengths[b] == l.PrefixLengths[b - 1];
            if (!same) starts.Add(b);
        }
        starts.Add(l.Batch);
        int groups = starts.Count - 1;
        int split = groups >= 4 * Workers.Count ? l.KvHeads : 1; // kv heads per unit
        fixed (int* st = starts.ToArray())
            Workers.For(groups * (l.KvHeads / split), new GroupBody { L = l, Starts = st, HeadsPerUnit = split }, 1);
    }

    struct GroupBody : IRangeBody
    {
        public DecodeAttentionLayout L;
        public int* Starts;
        public int HeadsPerUnit;

        public void Run(int begin, int end)
        {
            int perGroup = L.KvHeads / HeadsPerUnit, qPerKv = L.Heads / L.KvHeads;
            int maxKeys = 0, maxRows = 0;
            for (int u = begin; u < end; u++)
            {
                int g = u / perGroup;
                maxRows = Math.Max(maxRows, Starts[g + 1] - Starts[g]);
                for (int b = Starts[g]; b < Starts[g + 1]; b++) maxKeys = Math.Max(maxKeys, L.Positions[b] + 1);
            }
            int queries = maxRows * HeadsPerUnit * qPerKv;
            float[] scores = ArrayPool<float>.Shared.Rent(queries * maxKeys), outs = ArrayPool<float>.Shared.Rent(queries * L.HeadDim);
            try
            {
                fixed (float* s = scores, o = outs)
                    for (int u = begin; u < end; u++)
                        Unit(Starts[u / perGroup], Starts[u / perGroup + 1], u % perGroup * HeadsPerUnit, s, maxKeys, o);
            }
            finally
            {
                ArrayPool<float>.Shared.Return(scores);
                ArrayPool<float>.Shared.Return(outs);
            }
        }

        /// <summary>Rows [b0, b1) (one group), kv heads [g0, g0 + HeadsPerUnit). Query i = (row r, kv head gi, head t in its group).</summary>
        readonly void Unit(int b0, int b1, int g0, float* scores, int stride, float* o)
        {
            ref readonly var l = ref L;
            int qPerKv = l.Heads / l.KvHeads, hd = l.HeadDim, width = l.KvHeads * hd, hs = HeadsPerUnit, chunks = hd / 8;
            int perRow = hs * qPerKv, rows = b1 - b0;
            // the shared range [lo, shared) from the prefix row (a single row when a window sets lo > 0)
            int lo = l.Window > 0 ? Math.Max(0, l.Positions[b0] - l.Window + 1) : 0;
            int shared = l.PrefixLengths != null ? Math.Max(lo, l.PrefixLengths[b0]) : lo;
            long prefixBase = l.PrefixRows != null ? (long)l.PrefixRows[b0] * l.Capacity : 0;
            for (int j = lo; j < shared; j++)
            {
                float* kr = l.K + (prefixBase + j) * width;
                for (int r = 0; r < rows; r++)
                    KeyScores(l, b0 + r, kr, g0, scores + (long)r * perRow * stride + j, stride, chunks);
            }
            for (int r = 0; r < rows; r++)
            {
                long own = (long)l.CacheRows[b0 + r] * l.Capacity;
                for (int j = shared; j <= l.Positions[b0 + r]; j++)
                    KeyScores(l, b0 + r, l.K + (own + j) * width, g0, scores + (long)r * perRow * stride + j, stride, chunks);
            }
            for (int r = 0; r < rows; r++)
                for (int i = 0; i < perRow; i++)
                {
                    var s = new Span<float>(scores + (long)(r * perRow + i) * stride + lo, l.Positions[b0 + r] - lo + 1);
                    float max = TensorPrimitives.Max(s);
                    TensorPrimitives.Subtract(s, max, s);
                    TensorPrimitives.Exp(s, s);
                    TensorPrimitives.Multiply(s, 1f / TensorPrimitives.Sum(s), s);
                }
            new Span<float>(o, rows * perRow * hd).Clear();
            for (int j = lo; j < shared; j++)
            {
                float* vr = l.V + (prefixBase + j) * width;
                for (int r = 0; r < rows; r++)
                    AddValues(vr, g0, hs, qPerKv, hd, scores + (long)r * perRow * stride + j, stride, o + (long)r * perRow * hd);
            }
            for (int r = 0; r < rows; r++)
            {
                long own = (long)l.CacheRows[b0 + r] * l.Capacity;
                for (int j = shared; j <= l.Positions[b0 + r]; j++)
                    AddValues(l.V + (own + j) * width, g0, hs, qPerKv, hd, scores + (long)r * perRow * stride + j, stride, o + (long)r * perRow * hd);
            }
            for (int r = 0; r < rows; r++)
                for (int gi = 0; gi < hs; gi++)
                    new Span<float>(o + (long)(r * perRow + gi * qPerKv) * hd, qPerKv * hd)
                        .CopyTo(new Span<float>(l.Out + (long)(b0 + r) * l.Heads * hd + (g0 + gi) * qPerKv * hd, qPerKv * hd));
        }

        /// <summary>scores[i·stride] = scale · q_i · k for row b's queries of kv heads [g0, g0 + hs); kr: the key's row (all kv heads).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        readonly void KeyScores(in DecodeAttentionLayout l, int b, float* kr, int g0, float* scores, int stride, int chunks)
        {
            int qPerKv = l.Heads / l.KvHeads, hd = l.HeadDim;
            float* q = l.Q + (long)b * l.Ldq + g0 * qPerKv * hd;
            for (int gi = 0; gi < HeadsPerUnit; gi++)
            {
                float* k = kr + (g0 + gi) * hd;
                for (int t = 0; t < qPerKv; t++, q += hd, scores += stride)
                {
                    var a0 = Vector256.Load(q) * Vector256.Load(k);
                    var a1 = Vector256<float>.Zero;
                    int c = 1;
                    for (; c + 1 < chunks; c += 2)
                    {
                        a1 = Vector256.FusedMultiplyAdd(Vector256.Load(q + c * 8), Vector256.Load(k + c * 8), a1);
                        a0 = Vector256.FusedMultiplyAdd(Vector256.Load(q + c * 8 + 8), Vector256.Load(k + c * 8 + 8), a0);
                    }
                    if (c < chunks) a1 = Vector256.FusedMultiplyAdd(Vector256.Load(q + c * 8), Vector256.Load(k + c * 8), a1);
                    *scores = Vector256.Sum(a0 + a1) * l.Scale;
                }
            }
        }

        /// <summary>o_i += p_i · v for one row's queries (p_i = scores[i·stride]); vr: the value's row (all kv heads).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static void AddValues(float* vr, int g0, int hs, int qPerKv, int hd, float* scores, int stride, float* o)
        {
            for (int gi = 0; gi < hs; gi++)
            {
                float* v = vr + (g0 + gi) * hd;
                for (int t = 0; t < qPerKv; t++, scores += stride, o += hd)
                {
                    var p = Vector256.Create(*scores);
                    for (int c = 0; c < hd; c += 8)
                        Vector256.Store(Vector256.FusedMultiplyAdd(Vector256.Load(v + c), p, Vector256.Load(o + c)), o + c);
                }
            }
        }
    }
}
