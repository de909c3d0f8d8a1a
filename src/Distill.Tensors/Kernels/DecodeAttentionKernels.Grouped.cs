using System.Buffers;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Distill.Tensors.Threading;

namespace Distill.Tensors.Kernels;

/// <summary>
/// The ragged decode attention by prompt: consecutive rows that share a prefix (same prefix row and length, no sliding
/// window — a prompt's n samples) form one group, and a unit is (group, kv heads). Each shared key and value is read
/// from memory once for all the group's rows and query heads, and a row's own keys (what it generated) once for its
/// query heads; a decoding step is bound by these reads (rows × positions × 2 × kv width floats per layer), so the
/// shared prompt costs 1/n of its per-row price. With enough groups for the threads a unit takes every kv head (the
/// key rows are then read whole, contiguously); otherwise one kv head. With AVX-512 the shared products are small
/// GEMMs on the engine's 12×32 micro-kernel (the group's queries of a kv head × 32 keys or value columns: the keys
/// from <see cref="Autograd.PrefixPanels"/>, transposed once after the prefill, else by zmm lanes; the values from its
/// 32-column panels, else copied from the cache into such panels per unit), a row's own keys go four at a time with one shuffle reduction; otherwise Vector256 dot products and
/// value sums (head dim a multiple of 8). Same results as the per-row unit up to summation order.
/// Each unit first writes its rows' new keys and values into the cache (<see cref="DecodeAttentionLayout.NewK"/>).
/// </summary>
public static unsafe partial class DecodeAttentionKernels
{
    /// <summary>Rows per group at most (the scores of a unit: rows × heads × keys floats).</summary>
    const int MaxGroupRows = 16;

    /// <summary>Queries per zmm register in the shared-key scores without packed keys (SharedScoresByLanes).</summary>
    const int Lanes = 16;

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
        int units = groups * (l.KvHeads / split);
        // units claimed one at a time, the most keys first (groups differ in prompt length and rows): the threads finish
        // together instead of each taking a fixed half of the groups (same arithmetic per unit, any thread)
        var work = new long[units];
        var order = new int[units];
        for (int u = 0; u < units; u++)
        {
            int g = u / (l.KvHeads / split);
            long keys = 0;
            for (int b = starts[g]; b < starts[g + 1]; b++) keys += l.Positions[b] + 1;
            work[u] = -keys;
            order[u] = u;
        }
        Array.Sort(work, order);
        int next = 0;
        fixed (int* st = starts.ToArray(), ord = order)
            Workers.For(Math.Min(units, Workers.Count), new GroupBody { L = l, Starts = st, HeadsPerUnit = split, Order = ord, Units = units, Next = &next }, 1);
    }

    struct GroupBody : IRangeBody
    {
        public DecodeAttentionLayout L;
        public int* Starts, Order, Next;
        public int HeadsPerUnit, Units;

        public void Run(int begin, int end)
        {
            int perGroup = L.KvHeads / HeadsPerUnit, qPerKv = L.Heads / L.KvHeads;
            int maxKeys = 0, maxRows = 0;
            for (int g = 0; g < Units / perGroup; g++)
            {
                maxRows = Math.Max(maxRows, Starts[g + 1] - Starts[g]);
                for (int b = Starts[g]; b < Starts[g + 1]; b++) maxKeys = Math.Max(maxKeys, L.Positions[b] + 1);
            }
            int queries = maxRows * HeadsPerUnit * qPerKv;
            float[] scores = ArrayPool<float>.Shared.Rent(queries * maxKeys), outs = ArrayPool<float>.Shared.Rent(queries * L.HeadDim);
            // lanes: the shared scores by lanes' (hd + keys)·16 floats, or the shared products' GEMM operands (64-byte aligned)
            float[] lanes = ArrayPool<float>.Shared.Rent(Math.Max((L.HeadDim + maxKeys) * Lanes, GemmFloats(maxKeys, L.HeadDim)) + 16);
            try
            {
                fixed (float* s = scores, o = outs, ln = lanes)
                {
                    int c;
                    while ((c = Interlocked.Increment(ref *Next) - 1) < Units)
                    {
                        int u = Order[c];
                        Unit(Starts[u / perGroup], Starts[u / perGroup + 1], u % perGroup * HeadsPerUnit, s, maxKeys, o, ln);
                    }
                }
            }
            finally
            {
                ArrayPool<float>.Shared.Return(scores);
                ArrayPool<float>.Shared.Return(outs);
                ArrayPool<float>.Shared.Return(lanes);
            }
        }

        /// <summary>Rows [b0, b1) (one group), kv heads [g0, g0 + HeadsPerUnit). Query i = (row r, kv head gi, head t in its group).</summary>
        readonly void Unit(int b0, int b1, int g0, float* scores, int stride, float* o, float* lanes)
        {
            ref readonly var l = ref L;
            int qPerKv = l.Heads / l.KvHeads, hd = l.HeadDim, width = l.KvHeads * hd, hs = HeadsPerUnit, chunks = hd / 8;
            int perRow = hs * qPerKv, rows = b1 - b0;
            for (int b = b0; b < b1; b++) WriteNew(l, b, g0, hs);
            // the shared range [lo, shared) from the prefix row (a single row when a window sets lo > 0)
            int lo = l.Window > 0 ? Math.Max(0, l.Positions[b0] - l.Window + 1) : 0;
            int shared = l.PrefixLengths != null ? Math.Max(lo, l.PrefixLengths[b0]) : lo;
            long prefixBase = l.PrefixRows != null ? (long)l.PrefixRows[b0] * l.Capacity : 0;
            bool byLanes = Avx512F.IsSupported && shared - lo >= 4;
            float* gemm = (float*)(((nint)lanes + 63) & ~(nint)63);
            var pk = byLanes && lo == 0 && l.PrefixPanels is { } p && p.KvHeads == l.KvHeads && p.HeadDim == hd ? p : null;
            float* panels = pk is null ? null : pk.Of(l.PrefixRows[b0], shared), valuePanels = pk is null ? null : pk.ValuesOf(l.PrefixRows[b0], shared);
            if (panels != null) SharedScoresGemm(b0, rows, g0, shared, panels, scores, stride, gemm);
            else if (byLanes) SharedScoresByLanes(b0, rows, g0, lo, shared, prefixBase, scores, stride, lanes);
            else
                for (int j = lo; j < shared; j++)
                {
                    float* kr = l.K + (prefixBase + j) * width;
                    for (int r = 0; r < rows; r++)
                        KeyScores(l, b0 + r, kr, g0, scores + (long)r * perRow * stride + j, stride, chunks);
                }
            bool own512 = Avx512F.IsSupported && hd % 16 == 0;
            for (int r = 0; r < rows; r++)
            {
                long own = (long)l.CacheRows[b0 + r] * l.Capacity;
                if (own512) { OwnScores512(l, b0 + r, g0, shared, scores + (long)r * perRow * stride, stride); continue; }
                for (int j = shared; j <= l.Positions[b0 + r]; j++)
                    KeyScores(l, b0 + r, l.K + (own + j) * width, g0, scores + (long)r * perRow * stride + j, stride, chunks);
            }
            for (int r = 0; r < rows; r++)
                for (int i = 0; i < perRow; i++)
                {
                    var s = new Span<float>(scores + (long)(r * perRow + i) * stride + lo, l.Positions[b0 + r] - lo + 1);
                    AttentionGemmKernels.ExpShifted(s, TensorPrimitives.Max(s)); // exp(s − max) in one pass, same bits
                    TensorPrimitives.Multiply(s, 1f / TensorPrimitives.Sum(s), s);
                }
            new Span<float>(o, rows * perRow * hd).Clear();
            if (byLanes) SharedValuesGemm(rows, g0, lo, shared, prefixBase, valuePanels, scores, stride, o, gemm);
            else
                for (int j = lo; j < shared; j++)
                {
                    float* vr = l.V + (prefixBase + j) * width;
                    for (int r = 0; r < rows; r++)
                        AddValues(vr, g0, hs, qPerKv, hd, scores + (long)r * perRow * stride + j, stride, o + (long)r * perRow * hd);
                }
            for (int r = 0; r < rows; r++)
            {
                long own = (long)l.CacheRows[b0 + r] * l.Capacity;
                if (own512) { OwnValues512(l, b0 + r, g0, shared, scores + (long)r * perRow * stride, stride, o + (long)r * perRow * hd); continue; }
                for (int j = shared; j <= l.Positions[b0 + r]; j++)
                    AddValues(l.V + (own + j) * width, g0, hs, qPerKv, hd, scores + (long)r * perRow * stride + j, stride, o + (long)r * perRow * hd);
            }
            for (int r = 0; r < rows; r++)
                for (int gi = 0; gi < hs; gi++)
                    new Span<float>(o + (long)(r * perRow + gi * qPerKv) * hd, qPerKv * hd)
                        .CopyTo(new Span<float>(l.Out + (long)(b0 + r) * l.Heads * hd + (g0 + gi) * qPerKv * hd, qPerKv * hd));
        }

        /// <summary>
        /// The shared keys' scores with the group's queries of one kv head in the 16 lanes of a zmm register (query i =
        /// row r, head t: lane r·qPerKv + t, 16 at a time): qᵀ packed d-major once, then per key s[j] = Σ_d k_j[d]·qᵀ[d]
        /// — one broadcast and one FMA per d for all the lanes, four keys at a time, no horizontal sums — and the
        /// scores (times the scale) written to their rows of <paramref name="scores"/>. lanes: (hd + keys)·16 floats.
        /// </summary>
        readonly void SharedScoresByLanes(int b0, int rows, int g0, int lo, int shared, long prefixBase, float* scores, int stride, float* lanes)
        {
            ref readonly var l = ref L;
            int qPerKv = l.Heads / l.KvHeads, hd = l.HeadDim, width = l.KvHeads * hd, perRow = HeadsPerUnit * qPerKv, nq = rows * qPerKv, keys = shared - lo;
            float* qt = lanes, st = lanes + hd * Lanes;
            for (int gi = 0; gi < HeadsPerUnit; gi++)
                for (int i0 = 0; i0 < nq; i0 += Lanes)
                {
                    int n = Math.Min(Lanes, nq - i0);
                    new Span<float>(qt, hd * Lanes).Clear();
                    for (int i = 0; i < n; i++)
                    {
                        int r = (i0 + i) / qPerKv, t = (i0 + i) % qPerKv;
                        float* q = l.Q + (long)(b0 + r) * l.Ldq + ((g0 + gi) * qPerKv + t) * hd;
                        for (int d = 0; d < hd; d++) qt[d * Lanes + i] = q[d];
                    }
                    float* k0 = l.K + (prefixBase + lo) * width + (g0 + gi) * hd;
                    int j = 0;
                    for (; j + 4 <= keys; j += 4, k0 += 4 * width)
                    {
                        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
                        float* k1 = k0 + width, k2 = k1 + width, k3 = k2 + width;
                        Ahead(k0 + PrefetchKeys * width, width, hd);
                        for (int d = 0; d < hd; d++)
                        {
                            var qv = Avx512F.LoadVector512(qt + d * Lanes);
                            a0 = Avx512F.FusedMultiplyAdd(Vector512.Create(k0[d]), qv, a0);
                            a1 = Avx512F.FusedMultiplyAdd(Vector512.Create(k1[d]), qv, a1);
                            a2 = Avx512F.FusedMultiplyAdd(Vector512.Create(k2[d]), qv, a2);
                            a3 = Avx512F.FusedMultiplyAdd(Vector512.Create(k3[d]), qv, a3);
                        }
                        Avx512F.Store(st + j * Lanes, a0);
                        Avx512F.Store(st + (j + 1) * Lanes, a1);
                        Avx512F.Store(st + (j + 2) * Lanes, a2);
                        Avx512F.Store(st + (j + 3) * Lanes, a3);
                    }
                    for (; j < keys; j++, k0 += width)
                    {
                        Vector512<float> a0 = default;
                        for (int d = 0; d < hd; d++) a0 = Avx512F.FusedMultiplyAdd(Vector512.Create(k0[d]), Avx512F.LoadVector512(qt + d * Lanes), a0);
                        Avx512F.Store(st + j * Lanes, a0);
                    }
                    for (int i = 0; i < n; i++)
                    {
                        int r = (i0 + i) / qPerKv, t = (i0 + i) % qPerKv;
                        float* s = scores + (long)(r * perRow + gi * qPerKv + t) * stride + lo;
                        for (int jj = 0; jj < keys; jj++) s[jj] = st[jj * Lanes + i] * l.Scale;
                    }
                }
        }

        /// <summary>
        /// The shared keys' scores with the group's queries as a GEMM on the engine's AVX-512 micro-kernel: A = the queries
        /// of one kv head (hd × 12, packed d-major here), B = the prompt's keys as packed once after the prefill
        /// (<see cref="Autograd.PrefixPanels"/>: panels of 32 keys, hd × 32), C = a 12 × 32 tile of scale · q·k copied to the
        /// queries' score rows. Each score is the FMA chain over d from zero times the scale, as
        /// <see cref="SharedScoresByLanes"/> computes it (the same bits); here all 16 lanes of every FMA are used and the
        /// keys are read as stored for it, contiguously. gemm: <see cref="GemmFloats"/>, 64-byte aligned.
        /// </summary>
        readonly void SharedScoresGemm(int b0, int rows, int g0, int keys, float* panels, float* scores, int stride, float* gemm)
        {
            ref readonly var l = ref L;
            const int mr = MicroKernel.Avx512Mr, nr = MicroKernel.Avx512Nr;
            int qPerKv = l.Heads / l.KvHeads, hd = l.HeadDim, perRow = HeadsPerUnit * qPerKv, nq = rows * qPerKv, np = (keys + nr - 1) / nr;
            float* tile = gemm, qa = tile + MicroKernel.MaxTile;
            for (int gi = 0; gi < HeadsPerUnit; gi++)
            {
                float* head = panels + (long)(g0 + gi) * np * hd * nr;
                for (int i0 = 0; i0 < nq; i0 += mr)
                {
                    int m = Math.Min(mr, nq - i0);
                    if (m < mr) new Span<float>(qa, hd * mr).Clear();
                    for (int i = 0; i < m; i++)
                    {
                        int r = (i0 + i) / qPerKv, t = (i0 + i) % qPerKv;
                        float* q = l.Q + (long)(b0 + r) * l.Ldq + ((g0 + gi) * qPerKv + t) * hd;
                        for (int d = 0; d < hd; d++) qa[d * mr + i] = q[d];
                    }
                    for (int p = 0; p < np; p++)
                    {
                        int n = Math.Min(nr, keys - p * nr);
                        MicroKernel.Run(GemmIsa.Avx512, hd, qa, head + (long)p * hd * nr, tile, nr, m, n, l.Scale, 0f, first: true);
                        for (int i = 0; i < m; i++)
                        {
                            int r = (i0 + i) / qPerKv, t = (i0 + i) % qPerKv;
                            new Span<float>(tile + i * nr, n).CopyTo(new Span<float>(scores + (long)(r * perRow + gi * qPerKv + t) * stride + p * nr, n));
                        }
                    }
                }
            }
        }

        /// <summary>The floats of <see cref="SharedValuesGemm"/>'s operands (the values' panels, Pᵀ, the output tile), enough for <see cref="SharedScoresGemm"/>'s.</summary>
        static int GemmFloats(int keys, int hd) => keys * (RoundUp(hd, MicroKernel.Avx512Nr) + MicroKernel.Avx512Mr) + hd * MicroKernel.Avx512Mr + MicroKernel.MaxTile;

        static int RoundUp(int x, int multiple) => (x + multiple - 1) / multiple * multiple;

        /// <summary>
        /// o_i += Σ_{shared j} p_ij · v_j for the group's queries of each kv head as a GEMM on the engine's AVX-512
        /// micro-kernel (GemmKernelAvx512.cs): A = Pᵀ (keys × 12 queries), B = the head's values in panels of 32 columns
        /// (keys × 32: <paramref name="packed"/>, the prompt's panels from <see cref="Autograd.PrefixPanels"/>, or else copied from
        /// the cache rows once per kv head), C = a 12 × 32 tile added to the outputs (cleared before).
        /// Each output is the FMA chain over the keys in order from zero, as the lanes pass it replaced summed it (the same
        /// bits; sampling A/B in docs/performance.md, Session 16), but every lane of every FMA is a query's: 24 FMAs per 2
        /// loads and 12 broadcasts, where the lanes pass filled 12 of 16 lanes and loaded and stored oᵀ every four keys.
        /// gemm: <see cref="GemmFloats"/>, 64-byte aligned.
        /// </summary>
        readonly void SharedValuesGemm(int rows, int g0, int lo, int shared, long prefixBase, float* packed, float* scores, int stride, float* o, float* gemm)
        {
            ref readonly var l = ref L;
            const int mr = MicroKernel.Avx512Mr, nr = MicroKernel.Avx512Nr;
            int qPerKv = l.Heads / l.KvHeads, hd = l.HeadDim, width = l.KvHeads * hd, perRow = HeadsPerUnit * qPerKv, nq = rows * qPerKv, keys = shared - lo;
            int panels = (hd + nr - 1) / nr;
            float* copy = gemm, pa = copy + (long)keys * panels * nr, tile = pa + (long)keys * mr;
            for (int gi = 0; gi < HeadsPerUnit; gi++)
            {
                // the head's values in panels of 32 columns: packed after the prefill (PrefixPanels, lo = 0), else cut here
                float* vb = packed != null ? packed + (long)(g0 + gi) * panels * keys * nr : copy;
                if (packed == null) Autograd.PrefixPanels.CutValues(l.V + (prefixBase + lo) * width + (g0 + gi) * hd, width, keys, hd, copy);
                for (int i0 = 0; i0 < nq; i0 += mr)
                {
                    int m = Math.Min(mr, nq - i0);
                    if (m < mr) new Span<float>(pa, keys * mr).Clear();
                    for (int i = 0; i < m; i++)
                    {
                        int r = (i0 + i) / qPerKv, t = (i0 + i) % qPerKv;
                        float* s = scores + (long)(r * perRow + gi * qPerKv + t) * stride + lo;
                        for (int j = 0; j < keys; j++) pa[j * mr + i] = s[j];
                    }
                    for (int c = 0; c < panels; c++)
                    {
                        int n = Math.Min(nr, hd - c * nr);
                        MicroKernel.Run(GemmIsa.Avx512, keys, pa, vb + (long)c * keys * nr, tile, nr, m, n, 1f, 0f, first: true);
                        for (int i = 0; i < m; i++)
                        {
                            int r = (i0 + i) / qPerKv, t = (i0 + i) % qPerKv;
                            float* oi = o + (long)(r * perRow + gi * qPerKv + t) * hd + c * nr, ti = tile + i * nr;
                            int x = 0;
                            for (; x + 16 <= n; x += 16) Avx512F.Store(oi + x, Avx512F.LoadVector512(oi + x) + Avx512F.LoadVector512(ti + x));
                            for (; x < n; x++) oi[x] += ti[x];
                        }
                    }
                }
            }
        }

        /// <summary>
        /// Row b's own keys [from, position] (what it generated, in its own cache row) against its queries of kv heads
        /// [g0, g0 + HeadsPerUnit), AVX-512, head dim a multiple of 16: four keys at a time, each query's four dot products
        /// accumulated in zmm registers over the head dim and reduced together (<see cref="Sum4"/>: one shuffle tree for
        /// four keys instead of a horizontal sum per key and query); scores[i·stride + j] = scale · q_i · k_j, query i =
        /// (kv head gi, head t) = gi·qPerKv + t, as <see cref="KeyScores"/> writes them.
        /// </summary>
        readonly void OwnScores512(in DecodeAttentionLayout l, int b, int g0, int from, float* scores, int stride)
        {
            int qPerKv = l.Heads / l.KvHeads, hd = l.HeadDim, width = l.KvHeads * hd, to = l.Positions[b] + 1;
            long own = (long)l.CacheRows[b] * l.Capacity;
            var scale = Vector128.Create(l.Scale);
            // keys outer, kv heads inner: each key row (all the unit's kv heads) is read once, front to back
            int j = from;
            for (; j + 4 <= to; j += 4)
            {
                Ahead(l.K + (own + j + PrefetchKeys) * width + g0 * hd, width, HeadsPerUnit * hd);
                for (int gi = 0; gi < HeadsPerUnit; gi++)
                {
                    float* q0 = l.Q + (long)b * l.Ldq + (g0 + gi) * qPerKv * hd, s0 = scores + (long)gi * qPerKv * stride;
                    float* k0 = l.K + (own + j) * width + (g0 + gi) * hd, k1 = k0 + width, k2 = k1 + width, k3 = k2 + width;
                    for (int t = 0; t < qPerKv; t++)
                    {
                        float* q = q0 + t * hd;
                        var qc = Avx512F.LoadVector512(q);
                        Vector512<float> a0 = qc * Avx512F.LoadVector512(k0), a1 = qc * Avx512F.LoadVector512(k1),
                            a2 = qc * Avx512F.LoadVector512(k2), a3 = qc * Avx512F.LoadVector512(k3);
                        for (int c = 16; c < hd; c += 16)
                        {
                            qc = Avx512F.LoadVector512(q + c);
                            a0 = Avx512F.FusedMultiplyAdd(qc, Avx512F.LoadVector512(k0 + c), a0);
                            a1 = Avx512F.FusedMultiplyAdd(qc, Avx512F.LoadVector512(k1 + c), a1);
                            a2 = Avx512F.FusedMultiplyAdd(qc, Avx512F.LoadVector512(k2 + c), a2);
                            a3 = Avx512F.FusedMultiplyAdd(qc, Avx512F.LoadVector512(k3 + c), a3);
                        }
                        (Sum4(a0, a1, a2, a3) * scale).Store(s0 + (long)t * stride + j);
                    }
                }
            }
            for (; j < to; j++)
                for (int gi = 0; gi < HeadsPerUnit; gi++)
                {
                    float* q0 = l.Q + (long)b * l.Ldq + (g0 + gi) * qPerKv * hd, s0 = scores + (long)gi * qPerKv * stride;
                    float* k = l.K + (own + j) * width + (g0 + gi) * hd;
                    for (int t = 0; t < qPerKv; t++)
                    {
                        float* q = q0 + t * hd;
                        var a = Avx512F.LoadVector512(q) * Avx512F.LoadVector512(k);
                        for (int c = 16; c < hd; c += 16) a = Avx512F.FusedMultiplyAdd(Avx512F.LoadVector512(q + c), Avx512F.LoadVector512(k + c), a);
                        s0[(long)t * stride + j] = Vector512.Sum(a) * l.Scale;
                    }
                }
        }

        /// <summary>Keys (or values) this many rows ahead are asked for while the current four are multiplied.</summary>
        const int PrefetchKeys = 16;

        /// <summary>
        /// Prefetches <paramref name="floats"/> floats from p on in each of <paramref name="rows"/> rows (row stride width):
        /// a pass over shared or own keys reads 4 rows at a time (own values 2), each a few cache lines a row apart, too
        /// little in flight to cover the memory latency on its own. A prefetch never faults, so rows past the cache's end
        /// cost nothing.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static void Ahead(float* p, int width, int floats, int rows = 4)
        {
            for (int r = 0; r < rows; r++, p += width)
                for (int c = 0; c < floats; c += 16) Sse.Prefetch0(p + c);
        }

        /// <summary>[Σ a, Σ b, Σ c, Σ d]: halves, then quarters, then pairs added across the four vectors (7 shuffles, 5 adds).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static Vector128<float> Sum4(Vector512<float> a, Vector512<float> b, Vector512<float> c, Vector512<float> d)
        {
            // quarters [a0+a2, a1+a3, b0+b2, b1+b3], [c0+c2, c1+c3, d0+d2, d1+d3]
            var ab = Avx512F.Shuffle4x128(a, b, 0x44) + Avx512F.Shuffle4x128(a, b, 0xEE);
            var cd = Avx512F.Shuffle4x128(c, d, 0x44) + Avx512F.Shuffle4x128(c, d, 0xEE);
            // quarter i: the four partial sums of vector i
            var x = Avx512F.Shuffle4x128(ab, cd, 0x88) + Avx512F.Shuffle4x128(ab, cd, 0xDD);
            x += Avx512F.Shuffle(x, x, 0xB1);  // within quarters: [p0+p1, p0+p1, p2+p3, p2+p3]
            x += Avx512F.Shuffle(x, x, 0x4E);  // every element of quarter i: Σ vector i
            return Avx512F.PermuteVar16x32(x, Vector512.Create(0, 4, 8, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)).GetLower().GetLower();
        }

        /// <summary>
        /// o_i += Σ_j p_ij · v_j over row b's own keys [from, position] for its queries of kv heads [g0, g0 + HeadsPerUnit),
        /// AVX-512, head dim a multiple of 16: each query's output held in zmm registers (64 columns at a time) across all
        /// the keys, two keys per pass in separate accumulators (the FMA latency), instead of a load, FMA and store of o
        /// per key (<see cref="AddValues"/>). o: the row's outputs, query i at i·hd.
        /// </summary>
        readonly void OwnValues512(in DecodeAttentionLayout l, int b, int g0, int from, float* scores, int stride, float* o)
        {
            int qPerKv = l.Heads / l.KvHeads, hd = l.HeadDim, width = l.KvHeads * hd, to = l.Positions[b] + 1;
            long own = (long)l.CacheRows[b] * l.Capacity;
            for (int gi = 0; gi < HeadsPerUnit; gi++)
            {
                float* vb = l.V + own * width + (g0 + gi) * hd;
                for (int t = 0; t < qPerKv; t++)
                {
                    int i = gi * qPerKv + t;
                    float* s = scores + (long)i * stride, oi = o + (long)i * hd;
                    int c = 0;
                    for (; c + 64 <= hd; c += 64)
                    {
                        Vector512<float> a0 = Avx512F.LoadVector512(oi + c), a1 = Avx512F.LoadVector512(oi + c + 16),
                            a2 = Avx512F.LoadVector512(oi + c + 32), a3 = Avx512F.LoadVector512(oi + c + 48);
                        Vector512<float> b0 = default, b1 = default, b2 = default, b3 = default;
                        int j = from;
                        for (; j + 2 <= to; j += 2)
                        {
                            float* v0 = vb + (long)j * width + c, v1 = v0 + width;
                            // the first of the group's queries reads the values from memory, the others from cache
                            if (t == 0) Ahead(v0 + PrefetchKeys * width, width, 64, rows: 2);
                            var p0 = Vector512.Create(s[j]);
                            var p1 = Vector512.Create(s[j + 1]);
                            a0 = Avx512F.FusedMultiplyAdd(p0, Avx512F.LoadVector512(v0), a0);
                            a1 = Avx512F.FusedMultiplyAdd(p0, Avx512F.LoadVector512(v0 + 16), a1);
                            a2 = Avx512F.FusedMultiplyAdd(p0, Avx512F.LoadVector512(v0 + 32), a2);
                            a3 = Avx512F.FusedMultiplyAdd(p0, Avx512F.LoadVector512(v0 + 48), a3);
                            b0 = Avx512F.FusedMultiplyAdd(p1, Avx512F.LoadVector512(v1), b0);
                            b1 = Avx512F.FusedMultiplyAdd(p1, Avx512F.LoadVector512(v1 + 16), b1);
                            b2 = Avx512F.FusedMultiplyAdd(p1, Avx512F.LoadVector512(v1 + 32), b2);
                            b3 = Avx512F.FusedMultiplyAdd(p1, Avx512F.LoadVector512(v1 + 48), b3);
                        }
                        if (j < to)
                        {
                            float* v0 = vb + (long)j * width + c;
                            var p0 = Vector512.Create(s[j]);
                            a0 = Avx512F.FusedMultiplyAdd(p0, Avx512F.LoadVector512(v0), a0);
                            a1 = Avx512F.FusedMultiplyAdd(p0, Avx512F.LoadVector512(v0 + 16), a1);
                            a2 = Avx512F.FusedMultiplyAdd(p0, Avx512F.LoadVector512(v0 + 32), a2);
                            a3 = Avx512F.FusedMultiplyAdd(p0, Avx512F.LoadVector512(v0 + 48), a3);
                        }
                        (a0 + b0).Store(oi + c);
                        (a1 + b1).Store(oi + c + 16);
                        (a2 + b2).Store(oi + c + 32);
                        (a3 + b3).Store(oi + c + 48);
                    }
                    for (; c < hd; c += 16)
                    {
                        var a = Avx512F.LoadVector512(oi + c);
                        for (int j = from; j < to; j++) a = Avx512F.FusedMultiplyAdd(Vector512.Create(s[j]), Avx512F.LoadVector512(vb + (long)j * width + c), a);
                        a.Store(oi + c);
                    }
                }
            }
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
