using System.Numerics.Tensors;
using System.Runtime.Intrinsics;
using Distill.Tensors.Threading;

namespace Distill.Tensors.Kernels;

/// <summary>
/// Where one ragged decoding step's operands live: Q (batch, heads·hd) with row stride Ldq, one query per row;
/// the caches K, V (cacheRows, capacity, kvHeads·hd); row b reads cache row CacheRows[b] at keys [lo, Positions[b]],
/// except keys j &lt; PrefixLengths[b], read from cache row PrefixRows[b] (a prompt's keys shared by its samples; both
/// null: no shared prefix). NewK, NewV (batch, kvHeads·hd): this step's key and value of each row, written by the kernel to
/// position Positions[b] of cache row CacheRows[b] just before the unit that reads them (each unit writes the kv heads it
/// owns, so the copies run in parallel and the lines are hot when read); null when they are in the cache already.
/// PrefixPanels: the shared prefixes' keys and values packed for the micro-kernel (<see cref="Autograd.PrefixPanels"/>), or null.
/// </summary>
public unsafe struct DecodeAttentionLayout
{
    public float* Q, K, V, Out, NewK, NewV;
    public Autograd.PrefixPanels? PrefixPanels;
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
/// With a head dimension that is a multiple of 8 the work runs by prompt instead (DecodeAttentionKernels.Grouped.cs).
/// </summary>
public static unsafe partial class DecodeAttentionKernels
{
    public static void Forward(in DecodeAttentionLayout l)
    {
        if (l.Heads <= 0 || l.KvHeads <= 0 || l.Heads % l.KvHeads != 0)
            throw new ArgumentException($"decode attention: kv heads ({l.KvHeads}) must divide heads ({l.Heads})");
        if (l.Window < 0) throw new ArgumentException($"decode attention: sliding window must be positive (0 for none), got {l.Window}");
        for (int b = 0; b < l.Batch; b++)
            if ((uint)l.Positions[b] >= (uint)l.Capacity)
                throw new ArgumentOutOfRangeException(nameof(l), $"decode attention: row {b} position {l.Positions[b]} beyond cache capacity {l.Capacity}");
        if (l.HeadDim % 8 == 0) Grouped(l);
        else Workers.For(l.Batch * l.KvHeads, new Body { L = l }, 4);
    }

    /// <summary>Row b's new key and value, kv heads [g0, g0 + heads), to its position in its cache row (see <see cref="DecodeAttentionLayout.NewK"/>).</summary>
    static void WriteNew(in DecodeAttentionLayout l, int b, int g0, int heads)
    {
        if (l.NewK == null) return;
        int width = l.KvHeads * l.HeadDim, at = g0 * l.HeadDim, n = heads * l.HeadDim;
        long dst = ((long)l.CacheRows[b] * l.Capacity + l.Positions[b]) * width + at, src = (long)b * width + at;
        new ReadOnlySpan<float>(l.NewK + src, n).CopyTo(new Span<float>(l.K + dst, n));
        new ReadOnlySpan<float>(l.NewV + src, n).CopyTo(new Span<float>(l.V + dst, n));
    }

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
                for (int u = begin; u < end; u++) Unit(u, scores, maxKeys);
            }
            finally { System.Buffers.ArrayPool<float>.Shared.Return(scores); }
        }

        /// <summary>Where key/value j of row b starts: its own cache row, or the shared prefix row below the prefix length.</summary>
        readonly long KeyOffset(int b, int j, int width)
        {
            int row = L.PrefixLengths != null && j < L.PrefixLengths[b] ? L.PrefixRows[b] : L.CacheRows[b];
            return ((long)row * L.Capacity + j) * width;
        }

        void Unit(int u, float[] scoresArr, int stride)
        {
            ref readonly var l = ref L;
            int b = u / l.KvHeads, g = u % l.KvHeads, group = l.Heads / l.KvHeads, hd = l.HeadDim, width = l.KvHeads * hd;
            int p = l.Positions[b], lo = l.Window > 0 ? Math.Max(0, p - l.Window + 1) : 0;
            WriteNew(l, b, g, 1);
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
