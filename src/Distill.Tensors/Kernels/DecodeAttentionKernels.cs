using System.Numerics.Tensors;
using System.Runtime.Intrinsics;
using Distill.Tensors.Threading;

namespace Distill.Tensors.Kernels;

/// <summary>
/// Where one ragged decoding step's operands live: Q (batch, heads·hd) with row stride Ldq, one query per row;
/// the caches K, V (cacheRows, capacity, kvHeads·hd); row b reads cache row CacheRows[b] at keys [lo, Positions[b]],
/// except keys j &lt; PrefixLengths[b], read from cache row PrefixRows[b] (a prompt's keys shared by its samples; both
/// null: no shared prefix).
/// </summary>
public unsafe struct DecodeAttentionLayout
{
    public float* Q, K, V, Out;
    public int* CacheRows, Positions, PrefixRows, PrefixLengths;
    public int Ldq, Batch, Capacity, Heads, KvHeads, HeadDim, Window;
    public float Scale;
}

/// <summary>
/// Attention of one new token per sequence against its own cached keys (incremental decoding of a ragged batch):
/// out = softmax(q kᵀ · scale) v over keys lo ≤ j ≤ p, p the row's position, lo = max(0, p − window + 1) with a
/// sliding window (as <see cref="AttentionKernels"/>). Split over (row, kv head): the query heads of one group read
/// each key and value once (grouped-query attention, Ainslie et al. 2023), which is what decoding is bound by.
/// Rows sharing a prompt prefix read it from one cache row; consecutive units are the rows of one prompt, so the
/// shared keys are read from memory once and from cache by the prompt's other samples.
/// With a head dimension that is a multiple of 8 the dot products and the weighted sum of values run in registers
/// (one Vector256 pass per key for all the group's heads), with no call per key.
/// </summary>
public static unsafe class DecodeAttentionKernels
{
    public static void Forward(in DecodeAttentionLayout l)
    {
        if (l.Heads <= 0 || l.KvHeads <= 0 || l.Heads % l.KvHeads != 0)
            throw new ArgumentException($"decode attention: kv heads ({l.KvHeads}) must divide heads ({l.Heads})");
        if (l.Window < 0) throw new ArgumentException($"decode attention: sliding window must be positive (0 for none), got {l.Window}");
        for (int b = 0; b < l.Batch; b++)
            if ((uint)l.Positions[b] >= (uint)l.Capacity)
                throw new ArgumentOutOfRangeException(nameof(l), $"decode attention: row {b} position {l.Positions[b]} beyond cache capacity {l.Capacity}");
        Workers.For(l.Batch * l.KvHeads, new Body { L = l }, 4);
    }

    /// <summary>The vector unit keeps a group's outputs on the stack: at most this many floats (group × head dim).</summary>
    const int MaxGroupWidth = 4096;

    struct Body : IRangeBody
    {
        public DecodeAttentionLayout L;

        public void Run(int begin, int end)
        {
            int group = L.Heads / L.KvHeads, maxKeys = 0;
            for (int b = begin / L.KvHeads; b <= (end - 1) / L.KvHeads; b++) maxKeys = Math.Max(maxKeys, L.Positions[b] + 1);
            float[] scores = System.Buffers.ArrayPool<float>.Shared.Rent(group * maxKeys);
            try
            {
                for (int u = begin; u < end; u++)
                    if (L.HeadDim % 8 == 0 && group * L.HeadDim <= MaxGroupWidth) UnitVector(u, scores, maxKeys);
                    else Unit(u, scores, maxKeys);
            }
            finally { System.Buffers.ArrayPool<float>.Shared.Return(scores); }
        }

        /// <summary>Where key/value j of row b starts: its own cache row, or the shared prefix row below the prefix length.</summary>
        readonly long KeyOffset(int b, int j, int width)
        {
            int row = L.PrefixLengths != null && j < L.PrefixLengths[b] ? L.PrefixRows[b] : L.CacheRows[b];
            return ((long)row * L.Capacity + j) * width;
        }

        /// <summary>
        /// One (row, kv head) unit with the group's queries and outputs in stack buffers: per key, one load of the key
        /// against every query head (dot products in 8 lanes), then per value one load added into every head's output.
        /// The same arithmetic as <see cref="Unit"/> up to the summation order of the dot products.
        /// </summary>
        void UnitVector(int u, float[] scoresArr, int stride)
        {
            ref readonly var l = ref L;
            int b = u / l.KvHeads, g = u % l.KvHeads, group = l.Heads / l.KvHeads, hd = l.HeadDim, width = l.KvHeads * hd;
            int p = l.Positions[b], lo = l.Window > 0 ? Math.Max(0, p - l.Window + 1) : 0;
            int chunks = hd / 8;
            float* q = l.Q + (long)b * l.Ldq + g * group * hd; // the group's heads are adjacent: (group, hd)
            fixed (float* scores = scoresArr)
            {
                for (int j = lo; j <= p; j++)
                {
                    float* k = l.K + KeyOffset(b, j, width) + g * hd;
                    for (int t = 0; t < group; t++)
                    {
                        float* qt = q + t * hd;
                        var acc = Vector256.Load(qt) * Vector256.Load(k);
                        for (int c = 1; c < chunks; c++) acc = Vector256.FusedMultiplyAdd(Vector256.Load(qt + c * 8), Vector256.Load(k + c * 8), acc);
                        scores[t * stride + j] = Vector256.Sum(acc) * l.Scale;
                    }
                }
                for (int t = 0; t < group; t++)
                {
                    var s = new Span<float>(scores + t * stride + lo, p - lo + 1);
                    float max = TensorPrimitives.Max(s);
                    TensorPrimitives.Subtract(s, max, s);
                    TensorPrimitives.Exp(s, s);
                    TensorPrimitives.Multiply(s, 1f / TensorPrimitives.Sum(s), s);
                }
                float* o = stackalloc float[group * hd];
                new Span<float>(o, group * hd).Clear();
                for (int j = lo; j <= p; j++)
                {
                    float* v = l.V + KeyOffset(b, j, width) + g * hd;
                    for (int c = 0; c < chunks; c++)
                    {
                        var vc = Vector256.Load(v + c * 8);
                        for (int t = 0; t < group; t++)
                        {
                            float* ot = o + t * hd + c * 8;
                            Vector256.Store(Vector256.FusedMultiplyAdd(vc, Vector256.Create(scores[t * stride + j]), Vector256.Load(ot)), ot);
                        }
                    }
                }
                new Span<float>(o, group * hd).CopyTo(new Span<float>(l.Out + (long)b * l.Heads * hd + g * group * hd, group * hd));
            }
        }

        void Unit(int u, float[] scoresArr, int stride)
        {
            ref readonly var l = ref L;
            int b = u / l.KvHeads, g = u % l.KvHeads, group = l.Heads / l.KvHeads, hd = l.HeadDim, width = l.KvHeads * hd;
            int p = l.Positions[b], lo = l.Window > 0 ? Math.Max(0, p - l.Window + 1) : 0;
            var scores = scoresArr.AsSpan();
            for (int j = lo; j <= p; j++)
            {
                var k = new ReadOnlySpan<float>(l.K + KeyOffset(b, j, width) + g * hd, hd);
                for (int t = 0; t < group; t++)
                {
                    var q = new ReadOnlySpan<float>(l.Q + (long)b * l.Ldq + (g * group + t) * hd, hd);
                    scores[t * stride + j] = TensorPrimitives.Dot(q, k) * l.Scale;
                }
            }
            for (int t = 0; t < group; t++)
            {
                var s = scores.Slice(t * stride + lo, p - lo + 1);
                float max = TensorPrimitives.Max(s);
                TensorPrimitives.Subtract(s, max, s);
                TensorPrimitives.Exp(s, s);
                TensorPrimitives.Multiply(s, 1f / TensorPrimitives.Sum(s), s);
                new Span<float>(l.Out + (long)b * l.Heads * hd + (g * group + t) * hd, hd).Clear();
            }
            for (int j = lo; j <= p; j++)
            {
                var v = new ReadOnlySpan<float>(l.V + KeyOffset(b, j, width) + g * hd, hd);
                for (int t = 0; t < group; t++)
                {
                    var o = new Span<float>(l.Out + (long)b * l.Heads * hd + (g * group + t) * hd, hd);
                    TensorPrimitives.MultiplyAdd(v, scores[t * stride + j], o, o);
                }
            }
        }
    }
}
