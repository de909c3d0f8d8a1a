using System.Numerics.Tensors;
using Distill.Tensors.Threading;

namespace Distill.Tensors.Kernels;

/// <summary>
/// Where the attention operands live. Q rows are (batch, tq) with row stride Ldq; K and V rows are
/// (batch, kvRowsPerBatch) — T for training, the cache capacity when decoding — with strides Ldk, Ldv.
/// Head h of Q starts at column QOff + h·hd; kv head g = h / (heads/kvHeads) at KOff/VOff + g·hd.
/// A fused qkv tensor is one pointer with three offsets.
/// </summary>
public unsafe struct AttentionLayout
{
    public float* Q, K, V, Out;
    public int Ldq, Ldk, Ldv, QOff, KOff, VOff;
    public int Batch, Tq, Tk, KvRowsPerBatch, Heads, KvHeads, HeadDim;
    public int Pos0;      // absolute position of query 0: query i attends keys j ≤ Pos0 + i
    public int Window;    // sliding window (0: none): query at p = Pos0 + i attends keys p − Window < j ≤ p
    public float* Mask;   // optional additive key mask (batch, KvRowsPerBatch): 0 keeps, −∞ drops (key padding)
    public float* P;      // probabilities (batch, heads, Tq, Tk) saved for backward, or null (inference)
    public float Scale;   // 1/√hd
    // optional (batch, 2), training layout only (Pos0 = 0, Tq = Tk): [b0, b1) of sequence b is a first branch that the
    // rows i ≥ b1 (the second branch) skip, those rows sitting at position i − (b1 − b0); see BranchedRows
    public int* Branches;
}

/// <summary>
/// Causal scaled-dot-product attention with grouped-query heads (Ainslie et al. 2023), softmax fused
/// with the scores: out = softmax(q kᵀ · scale + mask) v, one query row at a time (T ≤ a few thousand,
/// so scores fit in L1/L2 and the O(T²) part is small beside the projections). Forward is split over
/// (batch, head), backward over (batch, kv head), so dk/dv are accumulated by one thread only.
/// With a sliding window (Mistral, Phi-3, Qwen2's upper layers) only keys p − Window &lt; j ≤ p are visited
/// (transformers' masking_utils.py: sliding_window_overlay keeps kv_idx &gt; q_idx − sliding_window, and
/// causal_mask_function kv_idx ≤ q_idx); the probabilities of the other keys are exactly 0.
/// </summary>
public static unsafe class AttentionKernels
{
    public static void Forward(in AttentionLayout l)
    {
        Validate(l);
        Workers.For(l.Batch * l.Heads, new ForwardBody { L = l }, 1);
    }

    struct ForwardBody : IRangeBody
    {
        public AttentionLayout L;
        public void Run(int begin, int end)
        {
            float[] scoresArr = System.Buffers.ArrayPool<float>.Shared.Rent(L.Tk);
            try { for (int u = begin; u < end; u++) Unit(u, scoresArr); }
            finally { System.Buffers.ArrayPool<float>.Shared.Return(scoresArr); }
        }

        void Unit(int u, float[] scoresArr)
        {
            ref readonly var l = ref L;
            int b = u / l.Heads, h = u % l.Heads, g = h / (l.Heads / l.KvHeads), hd = l.HeadDim;
            for (int i = 0; i < l.Tq; i++)
            {
                var q = new ReadOnlySpan<float>(l.Q + (long)(b * l.Tq + i) * l.Ldq + l.QOff + h * hd, hd);
                var o = new Span<float>(l.Out + (long)(b * l.Tq + i) * l.Heads * hd + h * hd, hd);
                int n = Math.Min(l.Pos0 + i + 1, l.Tk), lo = RowKeys(l, b, i, out int h0, out int h1);
                Span<float> s = l.P != null ? new Span<float>(l.P + (((long)b * l.Heads + h) * l.Tq + i) * l.Tk, l.Tk) : scoresArr.AsSpan(0, l.Tk);
                s[..lo].Clear();
                s[h0..h1].Clear();
                float max = float.NegativeInfinity;
                for (int j = Skip(lo, h0, h1); j < n; j = Skip(j + 1, h0, h1))
                {
                    var k = new ReadOnlySpan<float>(l.K + (long)(b * l.KvRowsPerBatch + j) * l.Ldk + l.KOff + g * hd, hd);
                    float v = TensorPrimitives.Dot(q, k) * l.Scale;
                    if (l.Mask != null) v += l.Mask[(long)b * l.KvRowsPerBatch + j];
                    s[j] = v;
                    if (v > max) max = v;
                }
                o.Clear();
                if (float.IsNegativeInfinity(max)) { s.Slice(0, n).Clear(); continue; } // every key masked: output 0
                double sum = 0;
                for (int j = Skip(lo, h0, h1); j < n; j = Skip(j + 1, h0, h1)) { float e = MathF.Exp(s[j] - max); s[j] = e; sum += e; }
                float inv = (float)(1.0 / sum);
                for (int j = Skip(lo, h0, h1); j < n; j = Skip(j + 1, h0, h1))
                {
                    float p = s[j] * inv;
                    s[j] = p;
                    var v = new ReadOnlySpan<float>(l.V + (long)(b * l.KvRowsPerBatch + j) * l.Ldv + l.VOff + g * hd, hd);
                    TensorPrimitives.MultiplyAdd(v, p, o, o);
                }
                if (n < l.Tk) s.Slice(n).Clear();
            }
        }
    }

    /// <summary>
    /// dO: (batch·Tq, heads·hd). Adds into dQ/dK/dV (same layouts and offsets as Q/K/V; any may be null).
    /// Per row: dP_j = dO·v_j;  dS_j = P_j (dP_j − Σ_k P_k dP_k);  dq += scale Σ dS_j k_j;  dk_j += scale dS_j q;  dv_j += P_j dO.
    /// </summary>
    public static void Backward(in AttentionLayout l, float* dOut, float* dQ, float* dK, float* dV)
    {
        Validate(l);
        if (l.P == null) throw new InvalidOperationException("attention backward needs the saved probabilities");
        Workers.For(l.Batch * l.KvHeads, new BackwardBody { L = l, DOut = dOut, DQ = dQ, DK = dK, DV = dV }, 1);
    }

    struct BackwardBody : IRangeBody
    {
        public AttentionLayout L;
        public float* DOut, DQ, DK, DV;
        public void Run(int begin, int end)
        {
            float[] dpArr = System.Buffers.ArrayPool<float>.Shared.Rent(L.Tk);
            try { for (int u = begin; u < end; u++) Unit(u, dpArr.AsSpan(0, L.Tk)); }
            finally { System.Buffers.ArrayPool<float>.Shared.Return(dpArr); }
        }

        void Unit(int u, Span<float> dp)
        {
            ref readonly var l = ref L;
            int b = u / l.KvHeads, g = u % l.KvHeads, group = l.Heads / l.KvHeads, hd = l.HeadDim;
            for (int h = g * group; h < (g + 1) * group; h++)
                for (int i = 0; i < l.Tq; i++)
                {
                    int n = Math.Min(l.Pos0 + i + 1, l.Tk), lo = RowKeys(l, b, i, out int h0, out int h1);
                    var p = new ReadOnlySpan<float>(l.P + (((long)b * l.Heads + h) * l.Tq + i) * l.Tk, n);
                    var dO = new ReadOnlySpan<float>(DOut + (long)(b * l.Tq + i) * l.Heads * hd + h * hd, hd);
                    long qo = (long)(b * l.Tq + i) * l.Ldq + l.QOff + h * hd;
                    var q = new ReadOnlySpan<float>(l.Q + qo, hd);
                    double dot = 0;
                    for (int j = Skip(lo, h0, h1); j < n; j = Skip(j + 1, h0, h1))
                    {
                        var v = new ReadOnlySpan<float>(l.V + (long)(b * l.KvRowsPerBatch + j) * l.Ldv + l.VOff + g * hd, hd);
                        dp[j] = TensorPrimitives.Dot(dO, v);
                        dot += (double)p[j] * dp[j];
                        if (DV != null && p[j] != 0)
                        {
                            var dv = new Span<float>(DV + (long)(b * l.KvRowsPerBatch + j) * l.Ldv + l.VOff + g * hd, hd);
                            TensorPrimitives.MultiplyAdd(dO, p[j], dv, dv);
                        }
                    }
                    float fdot = (float)dot;
                    Span<float> dq = DQ != null ? new Span<float>(DQ + qo, hd) : default;
                    for (int j = Skip(lo, h0, h1); j < n; j = Skip(j + 1, h0, h1))
                    {
                        float ds = p[j] * (dp[j] - fdot) * l.Scale;
                        if (ds == 0) continue;
                        long ko = (long)(b * l.KvRowsPerBatch + j) * l.Ldk + l.KOff + g * hd;
                        if (DQ != null) TensorPrimitives.MultiplyAdd(new ReadOnlySpan<float>(l.K + ko, hd), ds, dq, dq);
                        if (DK != null) { var dk = new Span<float>(DK + ko, hd); TensorPrimitives.MultiplyAdd(q, ds, dk, dk); }
                    }
                }
        }
    }

    /// <summary>The first key query row i may see: 0, or p − Window + 1 for its absolute position p = Pos0 + i.</summary>
    public static int FirstKey(in AttentionLayout l, int i) => l.Window > 0 ? Math.Max(0, l.Pos0 + i - l.Window + 1) : 0;

    /// <summary>
    /// The keys query row i of sequence b sees: [lo, i] (the return value) less the hole [h0, h1) (empty unless branched).
    /// With <see cref="AttentionLayout.Branches"/> a second-branch row (i ≥ b1) sits at position p = i − (b1 − b0) and skips
    /// the first branch [b0, b1); a window keeps the keys whose position is within p − Window &lt; position ≤ p: prefix keys
    /// j ≥ p − Window + 1, second-branch keys j ≥ i − Window + 1. When the window starts past the prefix, the first
    /// branch lies left of it and the live keys are one range again.
    /// </summary>
    public static int RowKeys(in AttentionLayout l, int b, int i, out int h0, out int h1)
    {
        h0 = h1 = 0;
        if (l.Branches == null) return FirstKey(l, i);
        int b0 = l.Branches[2 * b], b1 = l.Branches[2 * b + 1];
        if (i < b1 || b0 == b1) return FirstKey(l, i);
        int p = i - (b1 - b0);
        if (l.Window > 0 && p - l.Window + 1 >= b0) return i - l.Window + 1;
        h0 = b0;
        h1 = b1;
        return l.Window > 0 ? Math.Max(0, p - l.Window + 1) : 0;
    }

    /// <summary>j, or the end of the hole [h0, h1) when j falls inside it.</summary>
    static int Skip(int j, int h0, int h1) => j >= h0 && j < h1 ? h1 : j;

    static void Validate(in AttentionLayout l)
    {
        if (l.Window < 0) throw new ArgumentException($"attention: sliding window must be positive (or 0 for none), got {l.Window}");
        if (l.Heads <= 0 || l.KvHeads <= 0 || l.Heads % l.KvHeads != 0)
            throw new ArgumentException($"attention: kv heads ({l.KvHeads}) must divide heads ({l.Heads})");
        if (l.HeadDim <= 0 || l.Tq <= 0 || l.Tk > l.KvRowsPerBatch)
            throw new ArgumentException($"attention: bad sizes Tq={l.Tq} Tk={l.Tk} kvRows={l.KvRowsPerBatch} hd={l.HeadDim}");
        if (l.Branches != null && (l.Pos0 != 0 || l.Tq != l.Tk))
            throw new ArgumentException("attention: branched rows need the training layout (Pos0 = 0, Tq = Tk)");
    }
}
