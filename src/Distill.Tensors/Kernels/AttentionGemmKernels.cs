using System.Buffers;
using System.Numerics.Tensors;
using System.Runtime.Intrinsics;
using Distill.Tensors.Threading;

namespace Distill.Tensors.Kernels;

/// <summary>
/// The training/prefill form of <see cref="AttentionKernels"/> (Tq = Tk, Pos0 = 0, P saved): per
/// (batch, head) the scores S = q kᵀ·scale and the products P v, dP = dO vᵀ, dq = dS k, dk = dSᵀ q,
/// dv = Pᵀ dO go through GEMM, which is ~8× faster than the row kernel's dot products even though
/// it also computes the masked upper triangle (measured on bench-small, one core: 27 → 6 ms forward
/// per layer). The row kernel stays as the reference and the decode path; tests hold them equal.
/// With a sliding window W &lt; T (the band path) the queries go in blocks of <see cref="QueryBlock"/> rows and
/// each block multiplies only its live keys [i0 − W + 1, i1): blocks left of the band are never computed, so the
/// cost grows as T·W instead of T². The blocks' GEMMs are small, so the band path runs them on one thread each and
/// splits the work over (batch, head) units instead (over (batch, kv head) in backward, so dk/dv have one writer).
/// Without a window the same units run with one block of T rows. P keeps its (T, T) layout; a row holds values only in
/// its block's keys [lo, i1) (0 outside the row's own), the rest is never written nor read.
/// Branched rows (<see cref="AttentionLayout.Branches"/>, prompt sharing): a second-branch row's softmax drops the first
/// branch's keys (<see cref="AttentionKernels.RowKeys"/>), so its P is exactly 0 there and the products over the block's
/// [lo, i1) add zeros for them, as for the masked upper triangle — in the packed path; the tile path skips them when a
/// whole query block is second-branch rows (<see cref="BlockHole"/>), with the same results.
/// </summary>
public static unsafe class AttentionGemmKernels
{
    /// <summary>
    /// Query rows per block. With a window: the window, at least 16. Without: blocks of 32 rows once T &gt; 64, so each block
    /// multiplies only the keys left of its last row and the causal upper triangle is mostly skipped (T = 128: 62.5 % of the
    /// full product; bench-small-lora's attention backward measured 20 → 15 ms per step); short sequences stay one block.
    /// </summary>
    public static int QueryBlock(int T, int window) => window <= 0 || window >= T ? (T > 64 ? 32 : T) : Math.Min(T, Math.Max(16, window));

    /// <summary>
    /// Live keys of query block [i0, i1) of sequence b: [lo, i1) with lo = the first key of row i0 (rows are causal, so i1
    /// bounds them), or with branched rows the first key of any row of the block (a second-branch row at position
    /// i − (b1 − b0) reaches further left than the first-branch row above it).
    /// </summary>
    static int BlockFirstKey(in AttentionLayout l, int b, int i0, int i1)
    {
        if (l.Branches == null) return l.Window > 0 ? Math.Max(0, i0 - l.Window + 1) : 0;
        int lo = i1;
        for (int i = i0; i < i1; i++) lo = Math.Min(lo, AttentionKernels.RowKeys(l, b, i, out _, out _));
        return lo;
    }

    /// <summary>
    /// The keys [h0, h1) inside the block's [lo, i1) that no row of query block [i0, i1) attends: with branched rows, the
    /// first branch, when every row of the block is a second-branch row (empty otherwise, h0 = h1 = i1). The tile path skips
    /// them in every product (the rows' P and dS are exactly 0 there), so a second-branch block costs as its own sequence.
    /// </summary>
    static void BlockHole(in AttentionLayout l, int b, int i0, int i1, int lo, out int h0, out int h1)
    {
        h0 = h1 = i1;
        if (l.Branches == null) return;
        int a0 = lo, a1 = i1;
        for (int i = i0; i < i1; i++)
        {
            AttentionKernels.RowKeys(l, b, i, out int r0, out int r1);
            a0 = Math.Max(a0, r0);
            a1 = Math.Min(a1, r1);
            if (a1 <= a0) return;
        }
        h0 = a0;
        h1 = a1;
    }

    /// <summary>Parts of a (batch, head) in the tile forward's units: query-block ranges of about equal work.</summary>
    const int QuerySlices = 2;

    /// <summary>
    /// The query rows [begin, end) of part <paramref name="slice"/> of sequence b: whole blocks of Qb rows, cut where the
    /// running count of (query row, live key) pairs — what the block's products cost — passes half of the sequence's.
    /// Depends on the shape only, and every block is computed the same way whichever part holds it, so the output is the same.
    /// </summary>
    static (int Begin, int End) SliceRows(in AttentionLayout l, int b, int qb, int slice)
    {
        int T = l.Tq;
        if (T <= qb) return slice == 0 ? (0, T) : (T, T);
        long total = 0;
        for (int i0 = 0; i0 < T; i0 += qb) total += BlockCost(l, b, i0, Math.Min(T, i0 + qb));
        long run = 0;
        int cut = T;
        for (int i0 = 0; i0 < T; i0 += qb)
        {
            run += BlockCost(l, b, i0, Math.Min(T, i0 + qb));
            if (2 * run >= total) { cut = Math.Min(T, i0 + qb); break; }
        }
        return slice == 0 ? (0, cut) : (cut, T);
    }

    static long BlockCost(in AttentionLayout l, int b, int i0, int i1)
    {
        int lo = BlockFirstKey(l, b, i0, i1);
        BlockHole(l, b, i0, i1, lo, out int h0, out int h1);
        return (long)(i1 - i0) * (i1 - lo - (h1 - h0));
    }

    /// <summary>Row stride of a block's dS scratch: its live keys, at most Qb + Window − 1 with a window (any with branched rows), else T.</summary>
    static int ScratchLd(in AttentionLayout l, int qb) => l.Window > 0 && l.Branches == null ? qb + l.Window : l.Tq;

    public static void Forward(in AttentionLayout l)
    {
        Check(l);
        int T = l.Tq, qb = QueryBlock(T, l.Window);
        // One unit per (batch, head), its GEMMs on one thread: a 128×128×64 GEMM is ~20 µs on one core, too small to
        // split across cores without paying a fork/join twice per call (perf-gemm measured the per-head split faster).
        // The tile path splits each (batch, head) into QuerySlices parts of about equal work, so that a small batch still
        // spreads evenly (DPO's one pair: 9 heads on 2 threads ran as 5 against 4); the parts write disjoint rows.
        if (UseTile) Workers.For(l.Batch * l.Heads * QuerySlices, new ForwardTileBody { L = l, Qb = qb }, 1);
        else Workers.For(l.Batch * l.Heads, new ForwardBandBody { L = l, Qb = qb }, 1);
    }

    /// <summary>Tests: run the packed-GEMM path on this thread's calls even where <see cref="AttentionTile"/> runs.</summary>
    [ThreadStatic] internal static bool ForcePackedGemm;

    static bool UseTile => AttentionTile.Supported && !ForcePackedGemm;

    /// <summary>
    /// The tile path of <see cref="ForwardBandBody"/>: the same blocks and softmax, the two products by <see cref="AttentionTile"/>
    /// (S = q·kᵀ from a transposed copy of the unit's k, made once per (batch, kv head) run of units).
    /// </summary>
    struct ForwardTileBody : IRangeBody
    {
        public AttentionLayout L;
        public int Qb;
        public void Run(int begin, int end)
        {
            int T = L.Tq, hd = L.HeadDim, group = L.Heads / L.KvHeads, outLd = L.Heads * hd;
            float[] kt = ArrayPool<float>.Shared.Rent(hd * T);
            try
            {
                fixed (float* ktp = kt)
                {
                    int lastB = -1, lastG = -1;
                    for (int unit = begin; unit < end; unit++)
                    {
                        int u = unit / QuerySlices, b = u / L.Heads, h = u % L.Heads, g = h / group;
                        var (iBegin, iEnd) = SliceRows(L, b, Qb, unit % QuerySlices);
                        if (iBegin == iEnd) continue;
                        float* k = L.K + (long)b * T * L.Ldk + L.KOff + g * hd;
                        if (b != lastB || g != lastG) { AttentionTile.Transpose(k, L.Ldk, T, hd, ktp, T); lastB = b; lastG = g; }
                        float* q = L.Q + (long)b * T * L.Ldq + L.QOff + h * hd;
                        float* v = L.V + (long)b * T * L.Ldv + L.VOff + g * hd;
                        float* p = L.P + ((long)b * L.Heads + h) * T * T;
                        float* o = L.Out + (long)b * T * outLd + h * hd;
                        for (int i0 = iBegin; i0 < iEnd; i0 += Qb)
                        {
                            int i1 = Math.Min(T, i0 + Qb), lo = BlockFirstKey(L, b, i0, i1), m = i1 - i0, nk = i1 - lo;
                            BlockHole(L, b, i0, i1, lo, out int h0, out int h1);
                            // S[i0:i1, lo:i1] = scale · q[i0:i1] · kᵀ[:, lo:i1], less the hole's columns (SoftmaxRow sets them to 0)
                            float* q0 = q + (long)i0 * L.Ldq, s0 = p + (long)i0 * T;
                            AttentionTile.Mm(m, h0 - lo, hd, L.Scale, q0, L.Ldq, 1, ktp + lo, T, false, s0 + lo, T);
                            if (h1 < i1) AttentionTile.Mm(m, i1 - h1, hd, L.Scale, q0, L.Ldq, 1, ktp + h1, T, false, s0 + h1, T);
                            for (long r = (long)u * T + i0; r < (long)u * T + i1; r++) SoftmaxRow(L, r, lo, i1);
                            // out[i0:i1] = P[i0:i1, lo:i1] · v[lo:i1], the hole's keys (P = 0) skipped
                            AttentionTile.Mm(m, hd, nk, 1f, s0 + lo, T, 1, v + (long)lo * L.Ldv, L.Ldv, false, o + (long)i0 * outLd, outLd, h0 - lo, h1 - lo);
                        }
                    }
                }
            }
            finally { ArrayPool<float>.Shared.Return(kt); }
        }
    }

    /// <summary>Band path, one (batch, head) per unit: per query block its scores, its rows' softmax, its P v.</summary>
    struct ForwardBandBody : IRangeBody
    {
        public AttentionLayout L;
        public int Qb;
        public void Run(int begin, int end)
        {
            int T = L.Tq;
            for (int u = begin; u < end; u++)
            {
                int b = u / L.Heads, h = u % L.Heads;
                for (int i0 = 0; i0 < T; i0 += Qb)
                {
                    int i1 = Math.Min(T, i0 + Qb), lo = BlockFirstKey(L, b, i0, i1);
                    Scores(L, b, h, i0, i1);
                    for (long r = (long)u * T + i0; r < (long)u * T + i1; r++) SoftmaxRow(L, r, lo, i1);
                    Values(L, b, h, i0, i1);
                }
            }
        }
    }

    /// <summary>S[i0:i1, lo:i1] (m×nk) = scale · q[i0:i1] (m×hd) · k[lo:i1]ᵀ for one (batch, head); P's row stride stays T.</summary>
    static void Scores(in AttentionLayout l, int b, int h, int i0, int i1)
    {
        int T = l.Tq, hd = l.HeadDim, g = h / (l.Heads / l.KvHeads), lo = BlockFirstKey(l, b, i0, i1), m = i1 - i0, nk = i1 - lo;
        float* q = l.Q + (long)b * T * l.Ldq + l.QOff + h * hd;
        float* k = l.K + (long)b * T * l.Ldk + l.KOff + g * hd;
        float* p = l.P + ((long)b * l.Heads + h) * T * T;
        Mm(false, true, m, nk, hd, l.Scale, Span(q + (long)i0 * l.Ldq, m, hd, l.Ldq), l.Ldq,
            Span(k + (long)lo * l.Ldk, nk, hd, l.Ldk), l.Ldk, 0f, SpanW(p + (long)i0 * T + lo, m, nk, T), T);
    }

    /// <summary>out[i0:i1] (m×hd) = P[i0:i1, lo:i1] (m×nk) · v[lo:i1] (nk×hd); masked entries of P are exactly 0.</summary>
    static void Values(in AttentionLayout l, int b, int h, int i0, int i1)
    {
        int T = l.Tq, hd = l.HeadDim, g = h / (l.Heads / l.KvHeads), outLd = l.Heads * hd, lo = BlockFirstKey(l, b, i0, i1), m = i1 - i0, nk = i1 - lo;
        float* v = l.V + (long)b * T * l.Ldv + l.VOff + g * hd;
        float* p = l.P + ((long)b * l.Heads + h) * T * T;
        float* o = l.Out + (long)b * T * outLd + h * hd;
        Mm(false, false, m, hd, nk, 1f, Span(p + (long)i0 * T + lo, m, nk, T), T,
            Span(v + (long)lo * l.Ldv, nk, hd, l.Ldv), l.Ldv, 0f, SpanW(o + (long)i0 * outLd, m, hd, outLd), outLd);
    }

    /// <summary>
    /// Row r = (b·heads + h)·T + i of P, in a query block whose products read keys [blockLo, blockEnd): causal and window
    /// mask (the block's keys outside the row's [lo, i] → 0; the rest of the row is never read, so it is not written),
    /// optional additive key mask, softmax in place. Max, then exp(s − max) in one pass, the sum, the scaling: the same
    /// values as TensorPrimitives' Subtract, Exp, Sum and Multiply in turn (Exp's vector path lane by lane, its scalar one
    /// below 4 elements, as TensorPrimitives.Exp takes them).
    /// </summary>
    static void SoftmaxRow(in AttentionLayout l, long r, int blockLo, int blockEnd)
    {
        int T = l.Tq, i = (int)(r % T), b = (int)(r / ((long)T * l.Heads));
        var s = new Span<float>(l.P + r * T, T);
        int n = i + 1, lo = AttentionKernels.RowKeys(l, b, i, out int h0, out int h1);
        var live = s[lo..n];
        if (l.Mask != null) TensorPrimitives.Add(live, new ReadOnlySpan<float>(l.Mask + (long)b * l.KvRowsPerBatch + lo, n - lo), live);
        s[h0..h1].Fill(float.NegativeInfinity);   // a second-branch row's hole: the first branch's keys
        float max = TensorPrimitives.Max(live);
        if (blockLo < lo) s[blockLo..lo].Clear();
        if (n < blockEnd) s[n..blockEnd].Clear();
        if (float.IsNegativeInfinity(max)) { live.Clear(); return; } // every key masked: output 0
        ExpShifted(live, max);
        s[h0..h1].Clear();   // exp(−∞) is 0 already; exactly 0 whatever Exp's vector path does at −∞
        TensorPrimitives.Multiply(live, 1f / TensorPrimitives.Sum(live), live);
    }

    /// <summary>x ← exp(x − c), lane by lane as TensorPrimitives.Subtract then TensorPrimitives.Exp compute it.</summary>
    internal static unsafe void ExpShifted(Span<float> x, float c)
    {
        int n = x.Length;
        if (n < 4)
        {
            for (int j = 0; j < n; j++) x[j] = MathF.Exp(x[j] - c);
            return;
        }
        if (!Vector512.IsHardwareAccelerated)
        {
            TensorPrimitives.Subtract(x, c, x);
            TensorPrimitives.Exp(x, x);
            return;
        }
        var cv = Vector512.Create(c);
        fixed (float* p = x)
        {
            int j = 0;
            for (; j + 16 <= n; j += 16) Vector512.Exp(Vector512.Load(p + j) - cv).Store(p + j);
            if (j < n)
            {
                // the tail through a padded vector: the lanes past n hold c, whose exp(0) is dropped
                float* tail = stackalloc float[16];
                new Span<float>(tail, 16).Fill(c);
                new Span<float>(p + j, n - j).CopyTo(new Span<float>(tail, 16));
                Vector512.Exp(Vector512.Load(tail) - cv).Store(tail);
                new Span<float>(tail, n - j).CopyTo(new Span<float>(p + j, n - j));
            }
        }
    }

    /// <summary>
    /// Adds into dQ/dK/dV (any may be null) — or, with <paramref name="overwriteDq"/>, overwrites dQ (its buffer fresh and
    /// uncleared; every dQ element belongs to one query block of one head, so it is written exactly once). Each unit rents
    /// its own dS block.
    /// </summary>
    public static void Backward(in AttentionLayout l, float* dOut, float* dQ, float* dK, float* dV, bool overwriteDq = false)
    {
        Check(l);
        int qb = QueryBlock(l.Tq, l.Window);
        if (overwriteDq && dQ != null && (dQ == dK || dQ == dV)) throw new ArgumentException("AttentionGemmKernels.Backward: dQ can be overwritten only when it is not dK's or dV's buffer");
        // Units of (batch, kv head): the heads of one group add into the same dK/dV rows, so they run in order on one
        // thread, and the sums do not depend on the thread count.
        int group = l.Heads / l.KvHeads;
        if (UseTile && group > 1 && l.Batch * l.KvHeads < SlicedBelow && (dK != null || dV != null))
        {
            // Few (batch, kv head) units spread badly over the threads (DPO's one pair, 3 kv heads: 2 on one thread, 1 on the
            // other), so here each (batch, kv head) comes in the forward's QuerySlices parts of about equal work: 6 units for
            // DPO's 3 kv heads. Part 0 adds into dK/dV as the whole unit would; the later parts (whose keys overlap part 0's)
            // add into their own zeroed partial dK/dV, summed into dK/dV in part order afterwards (SlicedPartialsBody). The
            // same terms, rounded in a fixed order that depends on the shape only, not on the thread count.
            long per = (long)l.Tq * l.HeadDim, parts = (long)l.Batch * l.KvHeads * (QuerySlices - 1);
            float[] store = ArrayPool<float>.Shared.Rent((int)(2 * parts * per));
            try
            {
                fixed (float* pp = store)
                {
                    float* pk = dK == null ? null : pp, pv = dV == null ? null : pp + parts * per;
                    Workers.For(l.Batch * l.KvHeads * QuerySlices, new BackwardTileBody { L = l, Qb = qb, DOut = dOut, DQ = dQ, DK = dK, DV = dV, PartK = pk, PartV = pv, OverwriteDq = overwriteDq, Sliced = true }, 1);
                    Workers.For(l.Batch * l.KvHeads * l.Tq, new SlicedPartialsBody { L = l, PartK = pk, PartV = pv, DK = dK, DV = dV }, 64);
                }
            }
            finally { ArrayPool<float>.Shared.Return(store); }
        }
        else if (UseTile) Workers.For(l.Batch * l.KvHeads, new BackwardTileBody { L = l, Qb = qb, DOut = dOut, DQ = dQ, DK = dK, DV = dV, OverwriteDq = overwriteDq }, 1);
        else Workers.For(l.Batch * l.KvHeads, new BackwardBandBody { L = l, Qb = qb, DOut = dOut, DQ = dQ, DK = dK, DV = dV, OverwriteDq = overwriteDq }, 1);
    }

    /// <summary>(batch, kv head) units below which the tile backward runs each in <see cref="QuerySlices"/> parts: a shape rule, not a thread count.</summary>
    const int SlicedBelow = 8;

    /// <summary>Where query part <paramref name="slice"/> ≥ 1 of (batch, kv head) <paramref name="bg"/> keeps its partial dK (or dV): T × hd floats each.</summary>
    static long PartOffset(in AttentionLayout l, int bg, int slice) => ((long)bg * (QuerySlices - 1) + slice - 1) * l.Tq * l.HeadDim;

    /// <summary>Row (b, g, t) of dK/dV += the later query parts' partial rows of (b, g), in part order.</summary>
    struct SlicedPartialsBody : IRangeBody
    {
        public AttentionLayout L;
        public float* PartK, PartV, DK, DV;
        public void Run(int begin, int end)
        {
            int T = L.Tq, hd = L.HeadDim;
            for (int r = begin; r < end; r++)
            {
                int t = r % T, bg = r / T, b = bg / L.KvHeads, g = bg % L.KvHeads;
                for (int s = 1; s < QuerySlices; s++)
                {
                    long part = PartOffset(L, bg, s) + (long)t * hd;
                    if (DK != null)
                    {
                        var dst = new Span<float>(DK + ((long)b * T + t) * L.Ldk + L.KOff + g * hd, hd);
                        TensorPrimitives.Add(dst, new ReadOnlySpan<float>(PartK + part, hd), dst);
                    }
                    if (DV != null)
                    {
                        var dst = new Span<float>(DV + ((long)b * T + t) * L.Ldv + L.VOff + g * hd, hd);
                        TensorPrimitives.Add(dst, new ReadOnlySpan<float>(PartV + part, hd), dst);
                    }
                }
            }
        }
    }

    /// <summary>The tile path of <see cref="BackwardBandBody"/>: the same blocks and dS, the five products by <see cref="AttentionTile"/>.</summary>
    struct BackwardTileBody : IRangeBody
    {
        public AttentionLayout L;
        public int Qb;
        public float* DOut, DQ, DK, DV, PartK, PartV;
        public bool OverwriteDq, Sliced;

        public void Run(int begin, int end)
        {
            int T = L.Tq, hd = L.HeadDim, group = L.Heads / L.KvHeads, ld = ScratchLd(L, Qb), outLd = L.Heads * hd;
            float[] scratch = ArrayPool<float>.Shared.Rent(Qb * ld);
            float[] vtArr = ArrayPool<float>.Shared.Rent(hd * T);
            try
            {
                fixed (float* s = scratch)
                fixed (float* vt = vtArr)
                {
                    int lastB = -1, lastG = -1;
                    for (int u = begin; u < end; u++)
                    {
                        // a unit: (batch, kv head) and its group's heads in order, adding into dK/dV; or, sliced, the group's heads
                        // over one of the QuerySlices parts of its query blocks (as in the forward), part 0 adding into dK/dV and
                        // each later part into its own zeroed partial dK/dV (T × hd each), summed into dK/dV by SlicedPartials
                        int bg = Sliced ? u / QuerySlices : u, slice = Sliced ? u % QuerySlices : 0;
                        int b = bg / L.KvHeads, g = bg % L.KvHeads, hBegin = g * group, hEnd = (g + 1) * group;
                        var (iBegin, iEnd) = Sliced ? SliceRows(L, b, Qb, slice) : (0, T);
                        long ko = (long)b * T * L.Ldk + L.KOff + g * hd, vo = (long)b * T * L.Ldv + L.VOff + g * hd;
                        bool own = slice > 0;
                        float* dkBase = DK == null ? null : own ? PartK + PartOffset(L, bg, slice) : DK + ko;
                        float* dvBase = DV == null ? null : own ? PartV + PartOffset(L, bg, slice) : DV + vo;
                        long dkLd = own ? hd : L.Ldk, dvLd = own ? hd : L.Ldv;
                        if (own)
                        {
                            // every row is read by the reduction, so all T are zeroed, also when the part has no rows
                            if (dkBase != null) new Span<float>(dkBase, T * hd).Clear();
                            if (dvBase != null) new Span<float>(dvBase, T * hd).Clear();
                        }
                        if (iBegin == iEnd) continue;
                        if ((DQ != null || DK != null) && (b != lastB || g != lastG)) { AttentionTile.Transpose(L.V + vo, L.Ldv, T, hd, vt, T); lastB = b; lastG = g; }
                        for (int h = hBegin; h < hEnd; h++)
                        {
                            long qo = (long)b * T * L.Ldq + L.QOff + h * hd;
                            float* p = L.P + ((long)b * L.Heads + h) * T * T;
                            float* dO = DOut + (long)b * T * outLd + h * hd;
                            for (int i0 = iBegin; i0 < iEnd; i0 += Qb)
                            {
                                int i1 = Math.Min(T, i0 + Qb), lo = BlockFirstKey(L, b, i0, i1), m = i1 - i0, nk = i1 - lo;
                                // the block's hole [h0, h1) (branched rows): P and dS are 0 there, so every product skips it —
                                // the key-row outputs (dv, dk) and dP's columns by two calls, the key sums (dq) inside the tile
                                BlockHole(L, b, i0, i1, lo, out int h0, out int h1);
                                int n0 = h0 - lo, n1 = i1 - h1, c1 = h1 - lo;
                                float* pBlk = p + (long)i0 * T + lo, dOBlk = dO + (long)i0 * outLd;
                                // dv[lo:i1] += P_blkᵀ dO_blk
                                if (DV != null)
                                {
                                    float* dvBlk = dvBase + lo * dvLd;
                                    AttentionTile.Mm(n0, hd, m, 1f, pBlk, 1, T, dOBlk, outLd, true, dvBlk, dvLd);
                                    if (n1 > 0) AttentionTile.Mm(n1, hd, m, 1f, pBlk + c1, 1, T, dOBlk, outLd, true, dvBlk + c1 * dvLd, dvLd);
                                }
                                if (DQ == null && DK == null) continue;
                                // dP = dO_blk · vᵀ[:, lo:i1], the hole's columns zeroed (DsRows reads the row whole, then clears them)
                                AttentionTile.Mm(m, n0, hd, 1f, dOBlk, outLd, 1, vt + lo, T, false, s, ld);
                                if (n1 > 0) AttentionTile.Mm(m, n1, hd, 1f, dOBlk, outLd, 1, vt + h1, T, false, s + c1, ld);
                                if (c1 > n0) for (int r = 0; r < m; r++) new Span<float>(s + (long)r * ld + n0, c1 - n0).Clear();
                                DsRows(L, b, p, s, ld, i0, i1, lo);
                                // dq[i0:i1] (+)= dS k[lo:i1];  dk[lo:i1] += dSᵀ q[i0:i1]
                                if (DQ != null) AttentionTile.Mm(m, hd, nk, 1f, s, ld, 1, L.K + ko + (long)lo * L.Ldk, L.Ldk, !OverwriteDq, DQ + qo + (long)i0 * L.Ldq, L.Ldq, n0, c1);
                                if (DK != null)
                                {
                                    float* dkBlk = dkBase + lo * dkLd, qBlk = L.Q + qo + (long)i0 * L.Ldq;
                                    AttentionTile.Mm(n0, hd, m, 1f, s, 1, ld, qBlk, L.Ldq, true, dkBlk, dkLd);
                                    if (n1 > 0) AttentionTile.Mm(n1, hd, m, 1f, s + c1, 1, ld, qBlk, L.Ldq, true, dkBlk + c1 * dkLd, dkLd);
                                }
                            }
                        }
                    }
                }
            }
            finally { ArrayPool<float>.Shared.Return(scratch); ArrayPool<float>.Shared.Return(vtArr); }
        }
    }

    /// <summary>dP rows i0..i1 (in scratch, row stride ldS, keys from lo) → dS = P ⊙ (dP − Σ_j P dP)·scale, zero outside each row's live keys.</summary>
    static void DsRows(in AttentionLayout l, int b, float* p, float* scratch, int ldS, int i0, int i1, int lo)
    {
        int T = l.Tq, nk = i1 - lo;
        for (int i = i0; i < i1; i++)
        {
            int a = AttentionKernels.RowKeys(l, b, i, out int h0, out int h1), n = i + 1;     // row i's live keys [a, n) within the block's [lo, i1), less [h0, h1)
            var pr = new ReadOnlySpan<float>(p + (long)i * T + a, n - a);
            var dr = new Span<float>(scratch + (long)(i - i0) * ldS, nk);
            var live = dr[(a - lo)..(n - lo)];
            DsRow(pr, live, TensorPrimitives.Dot(pr, live), l.Scale);
            dr[..(a - lo)].Clear();
            dr[(n - lo)..].Clear();
            if (h1 > h0) dr[(h0 - lo)..(h1 - lo)].Clear();   // P is 0 there, so dS was too; cleared as the row's dP may hold anything
        }
    }

    /// <summary>d ← ((d − dot) · p) · scale in one pass: TensorPrimitives' Subtract, Multiply, Multiply in turn, element by element.</summary>
    internal static unsafe void DsRow(ReadOnlySpan<float> p, Span<float> d, float dot, float scale)
    {
        int n = d.Length, j = 0;
        fixed (float* pp = p, pd = d)
        {
            if (Vector512.IsHardwareAccelerated)
            {
                Vector512<float> dv = Vector512.Create(dot), sv = Vector512.Create(scale);
                for (; j + 16 <= n; j += 16) ((Vector512.Load(pd + j) - dv) * Vector512.Load(pp + j) * sv).Store(pd + j);
            }
            for (; j < n; j++) pd[j] = (pd[j] - dot) * pp[j] * scale;
        }
    }

    struct BackwardBandBody : IRangeBody
    {
        public AttentionLayout L;
        public int Qb;
        public float* DOut, DQ, DK, DV;
        public bool OverwriteDq;
        public void Run(int begin, int end)
        {
            int group = L.Heads / L.KvHeads, ld = ScratchLd(L, Qb);
            float[] scratch = ArrayPool<float>.Shared.Rent(Qb * ld);
            try
            {
                fixed (float* s = scratch)
                    for (int u = begin; u < end; u++)
                    {
                        int b = u / L.KvHeads, g = u % L.KvHeads;
                        for (int h = g * group; h < (g + 1) * group; h++) BackwardHead(L, b, h, Qb, DOut, DQ, DK, DV, OverwriteDq, s, ld);
                    }
            }
            finally { ArrayPool<float>.Shared.Return(scratch); }
        }
    }

    /// <summary>
    /// One (batch, head), block by block: dv[lo:i1] += Pᵀ dO; dP = dO vᵀ; dS = P ⊙ (dP − Σ_j P dP)·scale;
    /// dq[i0:i1] += dS k[lo:i1]; dk[lo:i1] += dSᵀ q[i0:i1]. dS of a block lives in scratch (m × nk, row stride ldS).
    /// </summary>
    static void BackwardHead(in AttentionLayout l, int b, int h, int qb, float* dOut, float* dQ, float* dK, float* dV, bool overwriteDq, float* scratch, int ldS)
    {
        int T = l.Tq, hd = l.HeadDim, g = h / (l.Heads / l.KvHeads), outLd = l.Heads * hd;
        long qo = (long)b * T * l.Ldq + l.QOff + h * hd, ko = (long)b * T * l.Ldk + l.KOff + g * hd, vo = (long)b * T * l.Ldv + l.VOff + g * hd;
        float* p = l.P + ((long)b * l.Heads + h) * T * T;
        float* dO = dOut + (long)b * T * outLd + h * hd;
        for (int i0 = 0; i0 < T; i0 += qb)
        {
            int i1 = Math.Min(T, i0 + qb), lo = BlockFirstKey(l, b, i0, i1), m = i1 - i0, nk = i1 - lo;
            var pBlk = Span(p + (long)i0 * T + lo, m, nk, T);        // P[i0:i1, lo:i1]
            var dOBlk = Span(dO + (long)i0 * outLd, m, hd, outLd);   // dO[i0:i1]
            if (dV != null) Mm(true, false, nk, hd, m, 1f, pBlk, T, dOBlk, outLd, 1f, SpanW(dV + vo + (long)lo * l.Ldv, nk, hd, l.Ldv), l.Ldv);
            if (dQ == null && dK == null) continue;
            Mm(false, true, m, nk, hd, 1f, dOBlk, outLd, Span(l.V + vo + (long)lo * l.Ldv, nk, hd, l.Ldv), l.Ldv, 0f, SpanW(scratch, m, nk, ldS), ldS);
            DsRows(l, b, p, scratch, ldS, i0, i1, lo);
            var ds = Span(scratch, m, nk, ldS);
            if (dQ != null) Mm(false, false, m, hd, nk, 1f, ds, ldS, Span(l.K + ko + (long)lo * l.Ldk, nk, hd, l.Ldk), l.Ldk, overwriteDq ? 0f : 1f, SpanW(dQ + qo + (long)i0 * l.Ldq, m, hd, l.Ldq), l.Ldq);
            if (dK != null) Mm(true, false, nk, hd, m, 1f, ds, ldS, Span(l.Q + qo + (long)i0 * l.Ldq, m, hd, l.Ldq), l.Ldq, 1f, SpanW(dK + ko + (long)lo * l.Ldk, nk, hd, l.Ldk), l.Ldk);
        }
    }

    /// <summary>A unit's GEMM: the managed kernel on this thread (the units themselves are what runs in parallel).</summary>
    static void Mm(bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc)
        => Gemm.SgemmManaged(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, parallel: false);

    // A (rows × cols) block with row stride ld, as the span GEMM expects: (rows−1)·ld + cols elements.
    static ReadOnlySpan<float> Span(float* p, int rows, int cols, int ld) => new(p, (rows - 1) * ld + cols);
    static Span<float> SpanW(float* p, int rows, int cols, int ld) => new(p, (rows - 1) * ld + cols);

    static void Check(in AttentionLayout l)
    {
        if (l.P == null || l.Tq != l.Tk || l.Pos0 != 0 || l.KvRowsPerBatch != l.Tq || l.Heads % l.KvHeads != 0 || l.Window < 0)
            throw new ArgumentException("AttentionGemmKernels: needs saved P, Tq = Tk = rows per batch, Pos0 = 0, kv heads dividing heads, window ≥ 0");
    }
}
