using Distill.Tensors.Kernels;

namespace Distill.Tensors.Autograd.Ops;

/// <summary>
/// Causal multi-head attention with grouped-query heads: out = softmax(q kᵀ/√hd + mask) v per head,
/// query head h reading kv head h / (heads/kvHeads). q: (batch·T, heads·hd); k, v: (batch·T, kvHeads·hd),
/// or one fused qkv tensor (batch·T, (heads + 2·kvHeads)·hd) as GPT-2's c_attn produces.
/// Output: (batch·T, heads·hd), heads side by side as the o_proj expects. keyMask (batch, T), optional:
/// additive, 0 keeps a key and −∞ drops it (padding). window &gt; 0: sliding-window attention, query i sees keys
/// i − window &lt; j ≤ i (transformers' masking_utils.py sliding_window_overlay AND causal_mask_function), blocks left of
/// the band skipped. branches, optional: each sequence is a shared prefix and two branches (<see cref="BranchedRows"/>,
/// prompt sharing in preference training); the second branch's rows do not see the first's keys and the window counts
/// positions. Saved for backward: P (batch, heads, T, T).
/// Slots: A = q, B = k, C = v (all the same tensor when fused), D = mask, S0 = P, I0..I5 = batch, T, heads, kvHeads, hd, window,
/// Y = branches (BranchedRows or null).
/// </summary>
public sealed unsafe class CausalAttention : Op
{
    static readonly CausalAttention Instance = new();
    public override string Name => nameof(CausalAttention);

    public static Tensor Forward(Tape tape, Tensor q, Tensor k, Tensor v, int batch, int heads, int kvHeads, Tensor? keyMask = null, int window = 0, BranchedRows? branches = null)
    {
        int T = q.Rows / batch, hd = q.Cols / heads;
        if (q.Rows != batch * T || k.Rows != q.Rows || v.Rows != q.Rows || k.Cols != kvHeads * hd || v.Cols != kvHeads * hd || q.Cols != heads * hd)
            throw new ArgumentException($"CausalAttention: q {Tensor.ShapeString(q.Shape)}, k {Tensor.ShapeString(k.Shape)}, v {Tensor.ShapeString(v.Shape)} do not fit batch {batch}, heads {heads}/{kvHeads}");
        return Run(tape, q, k, v, batch, T, heads, kvHeads, hd, keyMask, window, branches);
    }

    /// <summary>Fused qkv: columns [0, H·hd) are q, then kvHeads·hd of k, then of v.</summary>
    public static Tensor Forward(Tape tape, Tensor qkv, int batch, int heads, int kvHeads, Tensor? keyMask = null, int window = 0, BranchedRows? branches = null)
    {
        int T = qkv.Rows / batch, hd = qkv.Cols / (heads + 2 * kvHeads);
        if (qkv.Rows != batch * T || qkv.Cols != (heads + 2 * kvHeads) * hd)
            throw new ArgumentException($"CausalAttention: qkv {Tensor.ShapeString(qkv.Shape)} does not split into {heads}+2×{kvHeads} heads");
        return Run(tape, qkv, qkv, qkv, batch, T, heads, kvHeads, hd, keyMask, window, branches);
    }

    static Tensor Run(Tape tape, Tensor q, Tensor k, Tensor v, int batch, int T, int heads, int kvHeads, int hd, Tensor? mask, int window, BranchedRows? branches)
    {
        if (window < 0) throw new ArgumentException($"CausalAttention: sliding window must be positive (0 for none), got {window}");
        if (mask is not null && mask.Length != batch * T) throw new ArgumentException($"CausalAttention: key mask has {mask.Length} values, expected batch×T = {batch * T}");
        if (branches is not null && (branches.Count != batch || branches.Length != T))
            throw new ArgumentException($"CausalAttention: branched rows for {branches.Count} sequences of {branches.Length}, but the batch is {batch} × {T}");
        var y = tape.New(batch * T, heads * hd);
        bool grad = tape.NeedsGrad(q, k, v);
        Span<int> pShape = stackalloc int[4];
        pShape[0] = batch; pShape[1] = heads; pShape[2] = T; pShape[3] = T;
        var p = tape.New(pShape); // the GEMM path needs the full score matrix even without a tape
        var l = Layout(q, k, v, batch, T, heads, kvHeads, hd, mask, p, window);
        l.Out = y.Pointer;
        fixed (int* bounds = branches?.Bounds)
        {
            l.Branches = bounds;
            AttentionGemmKernels.Forward(l); // the row kernel (AttentionKernels) serves decoding; tests hold them equal
        }
        if (grad) tape.Record(new TapeEntry { Op = Instance, Out = y, A = q, B = k, C = v, D = mask, S0 = p, I0 = batch, I1 = T, I2 = heads, I3 = kvHeads, I4 = hd, I5 = window, Y = branches });
        return y;
    }

    static AttentionLayout Layout(Tensor q, Tensor k, Tensor v, int batch, int T, int heads, int kvHeads, int hd, Tensor? mask, Tensor? p, int window)
    {
        bool fused = ReferenceEquals(q, k);
        return new AttentionLayout
        {
            Q = q.Pointer, K = k.Pointer, V = v.Pointer, Ldq = q.Cols, Ldk = k.Cols, Ldv = v.Cols,
            QOff = 0, KOff = fused ? heads * hd : 0, VOff = fused ? (heads + kvHeads) * hd : 0,
            Batch = batch, Tq = T, Tk = T, KvRowsPerBatch = T, Heads = heads, KvHeads = kvHeads, HeadDim = hd,
            Pos0 = 0, Window = window, Mask = mask is null ? null : mask.Pointer, P = p is null ? null : p.Pointer, Scale = 1f / MathF.Sqrt(hd),
        };
    }

    public override void Backward(Tape tape, in TapeEntry e)
    {
        Tensor q = e.A!, k = e.B!, v = e.C!;
        var l = Layout(q, k, v, e.I0, e.I1, e.I2, e.I3, e.I4, e.D, e.S0, e.I5);
        bool fused = ReferenceEquals(q, k);
        // A separate q's gradient is written whole by the kernel (each element by one query block of one head): its first
        // writer takes it uncleared and overwrites it. k and v add over blocks and heads, and a fused qkv shares one buffer.
        bool freshQ = false;
        var dq = fused || ReferenceEquals(q, v) ? tape.GradOf(q) : tape.GradForWrite(q, out freshQ);
        var dk = fused ? dq : tape.GradOf(k);
        var dv = fused ? dq : tape.GradOf(v);
        float* dqp = dq is null ? null : dq.Pointer, dkp = dk is null ? null : dk.Pointer, dvp = dv is null ? null : dv.Pointer;
        fixed (int* bounds = ((BranchedRows?)e.Y)?.Bounds)
        {
            l.Branches = bounds;
            AttentionGemmKernels.Backward(l, e.Out.Grad!.Pointer, dqp, dkp, dvp, overwriteDq: freshQ);
        }
    }

    /// <summary>A prefill's score matrix (batch·heads·len² floats) at most this large takes the GEMM kernels (64 MB).</summary>
    internal const long PrefillScoresMax = 16L << 20;

    /// <summary>
    /// Inference with a KV cache: writes k, v (batch·len rows) at positions [pos, pos+len) of the cache,
    /// then attends q (batch·len, heads·hd) over cache positions [0, pos+len), query i sitting at pos+i.
    /// Records nothing on a no-grad tape (generation). Equals Forward over the whole prefix; a prefill (pos 0) runs it. With a sliding window
    /// the cache keeps every position and each query reads only its last <paramref name="window"/> keys.
    /// </summary>
    public static Tensor Decode(Tape tape, Tensor q, Tensor k, Tensor v, KvCache cache, int pos, int heads, int kvHeads, int window = 0)
    {
        if (window < 0) throw new ArgumentException($"CausalAttention.Decode: sliding window must be positive (0 for none), got {window}");
        int batch = cache.Batch, len = q.Rows / batch, hd = cache.Width / kvHeads;
        if (q.Rows != batch * len || k.Rows != q.Rows || v.Rows != q.Rows || k.Cols != cache.Width || v.Cols != cache.Width || q.Cols != heads * hd)
            throw new ArgumentException($"CausalAttention.Decode: q {Tensor.ShapeString(q.Shape)}, k {Tensor.ShapeString(k.Shape)} do not fit the cache (batch {batch}, width {cache.Width})");
        if (pos < 0 || pos + len > cache.Capacity) throw new ArgumentOutOfRangeException(nameof(pos), $"CausalAttention.Decode: positions [{pos}, {pos + len}) beyond cache capacity {cache.Capacity}");
        int w = cache.Width;
        for (int b = 0; b < batch; b++)
        {
            cache.Written(b, pos);
            k.Span.Slice(b * len * w, len * w).CopyTo(cache.K.Span.Slice((b * cache.Capacity + pos) * w, len * w));
            v.Span.Slice(b * len * w, len * w).CopyTo(cache.V.Span.Slice((b * cache.Capacity + pos) * w, len * w));
        }
        cache.Length = Math.Max(cache.Length, pos + len);
        // A prefill (nothing cached before it): the keys are exactly k and v, so the training forward's GEMM kernels
        // (AttentionGemmKernels: scores and P·v as small matrix products per head, one unit per (batch, head)) run on
        // q, k, v themselves — several times faster than the row kernel's dot product per (query, key) — as long as
        // their (batch, heads, len, len) score matrix stays small. Equal to the row kernel up to float rounding
        // (AttentionTests.GemmKernelsEqualRowKernels, KvCacheDecodeEqualsFullForward).
        if (pos == 0 && (long)batch * heads * len * len <= PrefillScoresMax)
            return Run(tape, q, k, v, batch, len, heads, kvHeads, hd, null, window, null);
        var y = tape.New(batch * len, heads * hd);
        var l = new AttentionLayout
        {
            Q = q.Pointer, K = cache.K.Pointer, V = cache.V.Pointer, Out = y.Pointer, Ldq = q.Cols, Ldk = w, Ldv = w,
            Batch = batch, Tq = len, Tk = pos + len, KvRowsPerBatch = cache.Capacity, Heads = heads, KvHeads = kvHeads, HeadDim = hd,
            Pos0 = pos, Window = window, Scale = 1f / MathF.Sqrt(hd),
        };
        AttentionKernels.Forward(l);
        return y;
    }

    /// <summary>
    /// Inference on a ragged batch (<see cref="DecodeRows"/>): row b's k and v (one row each) go to position
    /// rows.Positions[b] of cache row rows.CacheRows[b], and its query attends that cache row's keys [0, position]
    /// (the last <paramref name="window"/> with a sliding window). Records nothing. Equals <see cref="Decode"/> of
    /// each sequence run alone.
    /// </summary>
    public static Tensor DecodeRows(Tape tape, Tensor q, Tensor k, Tensor v, KvCache cache, DecodeRows rows, int heads, int kvHeads, int window = 0)
    {
        int n = rows.Count, w = cache.Width, hd = w / kvHeads;
        if (q.Rows != n || k.Rows != n || v.Rows != n || k.Cols != w || v.Cols != w || q.Cols != heads * hd)
            throw new ArgumentException($"CausalAttention.DecodeRows: q {Tensor.ShapeString(q.Shape)}, k {Tensor.ShapeString(k.Shape)} do not fit {n} rows of a cache of width {w}");
        for (int b = 0; b < n; b++)
        {
            int r = rows.CacheRows[b], p = rows.Positions[b];
            if (r >= cache.Batch || p >= cache.Capacity)
                throw new ArgumentOutOfRangeException(nameof(rows), $"CausalAttention.DecodeRows: row {b} (cache row {r}, position {p}) outside the cache ({cache.Batch} rows × {cache.Capacity})");
            if (rows.PrefixRows is { } pr && pr[b] >= cache.Batch)
                throw new ArgumentOutOfRangeException(nameof(rows), $"CausalAttention.DecodeRows: row {b}'s prefix row {pr[b]} is outside the cache ({cache.Batch} rows)");
            cache.Written(r, p);
        }
        // the kernel writes each row's k and v into the cache (DecodeAttentionLayout.NewK), in parallel, before reading them
        var y = tape.New(n, heads * hd);
        fixed (int* cacheRows = rows.CacheRows)
        fixed (int* positions = rows.Positions)
        fixed (int* prefixRows = rows.PrefixRows)
        fixed (int* prefixLengths = rows.PrefixLengths)
        {
            var l = new DecodeAttentionLayout
            {
                Q = q.Pointer, K = cache.K.Pointer, V = cache.V.Pointer, Out = y.Pointer, NewK = k.Pointer, NewV = v.Pointer, PrefixPanels = cache.PrefixPanels, CacheRows = cacheRows, Positions = positions,
                PrefixRows = prefixRows, PrefixLengths = prefixLengths,
                Ldq = q.Cols, Batch = n, Capacity = cache.Capacity, Heads = heads, KvHeads = kvHeads, HeadDim = hd, Window = window, Scale = 1f / MathF.Sqrt(hd),
            };
            DecodeAttentionKernels.Forward(l);
        }
        return y;
    }
}
