using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Distill.Tensors.Kernels;
using Distill.Tensors.Threading;

namespace Distill.Tensors.Quantization;

/// <summary>
/// A frozen float32 weight W (rows × cols, PyTorch's [out, in]) stored once in the packed GEMM's micro-panel layout, so
/// the products of forward-only passes (batched sampling: y (256, out) = x (256, in) · Wᵀ at every decoding step) skip
/// what the training GEMM does at every call — transposing W into NR-wide panels — and block for this use:
///   * K (= cols) in as few blocks as fit the caches: up to <see cref="MaxKc"/> columns in one block (the LM head's
///     576 and the layers' 576 whole: C written once), 1,536 as 2 × 768;
///   * the activations packed once per call into MR-row panels (all of x: 256 × 576 floats = 590 KB, L2), then each
///     thread takes its equal share of W's panels in groups (at most <see cref="MaxUnitPanels"/>, ≤ 590 KB at K = 576, L2) and runs
///     every MR-row panel of x (held in L1 across the group) against them: W is read from memory once per call;
///   * m = 1 (batch-1 decoding): a streaming matrix-vector product over the same panels (memory-bound).
/// The arithmetic is the training GEMM's micro-kernel (GemmKernelAvx512.cs: 12×32 tiles of FMAs over k in order), so
/// each y element is the float32 sum over k of x·w in ascending k — the same terms as <see cref="Gemm.Sgemm"/>, in
/// K blocks of different sizes (the training GEMM splits 576 into 288 + 288): results agree with it to float32
/// rounding of the partial sums (relative 1e-6 of Σ|x·w|; PackedF32MatrixTests), not bit for bit. Independent of the
/// thread count (a tile's arithmetic does not depend on which thread runs it).
/// Memory: a second copy of W (4 bytes per weight) beside the float parameter the training side keeps.
/// </summary>
public sealed unsafe class PackedF32Matrix : IInferenceMatrix
{
    /// <summary>K up to this many columns goes in one block; more is split into equal blocks (multiples of 8) at most this wide.</summary>
    internal static int MaxKc = 768;
    /// <summary>W panels per unit of work at most (a unit's panels stay in L2 while every row panel of x passes).</summary>
    internal static int MaxUnitPanels = 8;
    /// <summary>Rows of x per block (a multiple of MR): x's packed block stays in L2 when M is large (prefill).</summary>
    internal const int MaxMc = 264;

    public int Rows { get; }
    public int Cols { get; }
    public string Format => "f32packed";
    public long Bytes => 4L * Rows * Cols;

    readonly GemmIsa _isa;
    readonly int _mr, _nr, _panels, _kBlocks, _kcMax;
    readonly float[] _store; // pinned: the panels, 64-byte aligned from _w
    readonly float* _w;

    PackedF32Matrix(int rows, int cols, GemmIsa isa)
    {
        if (rows < 1 || cols < 1) throw new ArgumentException($"f32packed needs a non-empty weight, got [{rows}, {cols}]");
        Rows = rows;
        Cols = cols;
        _isa = isa;
        (_mr, _nr) = MicroKernel.Tile(isa);
        _panels = (rows + _nr - 1) / _nr;
        _kBlocks = (cols + MaxKc - 1) / MaxKc;
        _kcMax = _kBlocks == 1 ? cols : Math.Min(cols, (cols + _kBlocks - 1) / _kBlocks + 7 & ~7);
        _kBlocks = (cols + _kcMax - 1) / _kcMax;
        long floats = (long)_panels * _nr * cols;
        if (floats + 16 > Array.MaxLength) throw new ArgumentException($"f32packed: [{rows}, {cols}] is too large for one array");
        _store = GC.AllocateUninitializedArray<float>((int)floats + 16, pinned: true);
        _w = (float*)(((nuint)Unsafe.AsPointer(ref _store[0]) + 63) & ~(nuint)63);
    }

    /// <summary>The micro-kernel the panels were laid out for (AVX-512 12×32, AVX2 6×16 or scalar 6×16).</summary>
    public GemmIsa Isa => _isa;

    /// <summary>Packs w (rows, cols) row-major for the best micro-kernel of this CPU (or <paramref name="isa"/>).</summary>
    public static PackedF32Matrix Pack(ReadOnlySpan<float> w, int rows, int cols, GemmIsa? isa = null)
    {
        if (w.Length != (long)rows * cols) throw new ArgumentException($"f32packed: {w.Length} values for a [{rows}, {cols}] weight");
        var m = new PackedF32Matrix(rows, cols, isa ?? GemmIsaSelect.Default);
        fixed (float* src = w)
            for (int kb = 0; kb < m._kBlocks; kb++)
            {
                int pc = kb * m._kcMax, kc = Math.Min(m._kcMax, cols - pc);
                for (int j = 0; j < m._panels; j++)
                {
                    float* dst = m.Panel(kb, j);
                    int col = j * m._nr, n = Math.Min(m._nr, rows - col);
                    // panel j of block kb: dst[q·NR + c] = W[col + c, pc + q], columns past rows zero
                    if (GemmPack.TryTransposeRows(src + (long)col * cols + pc, cols, kc, n, m._nr, dst)) continue;
                    for (int q = 0; q < kc; q++)
                        for (int c = 0; c < m._nr; c++)
                            dst[q * m._nr + c] = c < n ? src[(long)(col + c) * cols + pc + q] : 0f;
                }
            }
        return m;
    }

    /// <summary>Panel j of K block kb: kc × NR floats (block kb starts at pc · panels · NR).</summary>
    float* Panel(int kb, int j)
    {
        int pc = kb * _kcMax, kc = Math.Min(_kcMax, Cols - pc);
        return _w + (long)pc * _panels * _nr + (long)j * kc * _nr;
    }

    public void Dequantize(Span<float> dst)
    {
        if (dst.Length != (long)Rows * Cols) throw new ArgumentException("f32packed: output has the wrong length");
        for (int kb = 0; kb < _kBlocks; kb++)
        {
            int pc = kb * _kcMax, kc = Math.Min(_kcMax, Cols - pc);
            for (int j = 0; j < _panels; j++)
            {
                float* p = Panel(kb, j);
                for (int c = 0; c < _nr && j * _nr + c < Rows; c++)
                    for (int q = 0; q < kc; q++) dst[(j * _nr + c) * Cols + pc + q] = p[q * _nr + c];
            }
        }
    }

    public void Forward(ReadOnlySpan<float> x, int m, Span<float> y)
    {
        if (m < 0 || x.Length < (long)m * Cols || y.Length < (long)m * Rows)
            throw new ArgumentException($"f32packed: x ({x.Length}) or y ({y.Length}) too short for {m} rows of [{Rows}, {Cols}]");
        if (m == 0) return;
        fixed (float* px = x, py = y)
        {
            if (m == 1) { Gemv(px, py); return; }
            var g = new Group { W0 = this, Y0 = py, End0 = _panels, End1 = _panels, Panels = _panels, Rows = Rows };
            Run(px, m, ref g);
        }
    }

    /// <summary>
    /// y0 = x · W0ᵀ, y1 = x · W1ᵀ (and y2 = x · W2ᵀ): the products of several weights on the same x — a layer's q, k and v
    /// projections, or gate and up — as one product over their panels side by side: x packed once, one fork/join, the
    /// threads' units spread over all the panels. Each output element is the same micro-kernel tile as
    /// <see cref="Forward"/> computes for its matrix alone, so the results are bit-identical to separate calls
    /// (PackedF32MatrixTests.ForwardManyEqualsSeparateForwards). The weights must share cols and micro-kernel.
    /// </summary>
    public static void ForwardMany(ReadOnlySpan<float> x, int m, PackedF32Matrix w0, Span<float> y0, PackedF32Matrix w1, Span<float> y1,
        PackedF32Matrix? w2 = null, Span<float> y2 = default)
    {
        Check(w0, w0, x.Length, m, y0.Length, "y0");
        Check(w0, w1, x.Length, m, y1.Length, "y1");
        if (w2 is not null) Check(w0, w2, x.Length, m, y2.Length, "y2");
        if (m == 0) return;
        GemmWork.Add(m, w0.Rows + w1.Rows + (w2?.Rows ?? 0), w0.Cols);
        fixed (float* px = x, p0 = y0, p1 = y1, p2 = y2)
        {
            if (m == 1)
            {
                w0.Gemv(px, p0);
                w1.Gemv(px, p1);
                w2?.Gemv(px, p2);
                return;
            }
            int end1 = w0._panels + w1._panels, end2 = end1 + (w2?._panels ?? 0);
            var g = new Group
            {
                W0 = w0, W1 = w1, W2 = w2!, Y0 = p0, Y1 = p1, Y2 = p2, End0 = w0._panels, End1 = end1, Panels = end2,
                Rows = w0.Rows + w1.Rows + (w2?.Rows ?? 0),
            };
            w0.Run(px, m, ref g);
        }
    }

    static void Check(PackedF32Matrix first, PackedF32Matrix w, int xLength, int m, int yLength, string name)
    {
        if (w.Cols != first.Cols || w._isa != first._isa)
            throw new ArgumentException($"f32packed: a grouped product needs the same cols and micro-kernel, got [{first.Rows}, {first.Cols}] {first._isa} and [{w.Rows}, {w.Cols}] {w._isa}");
        if (m < 0 || xLength < (long)m * w.Cols || yLength < (long)m * w.Rows)
            throw new ArgumentException($"f32packed: x ({xLength}) or {name} ({yLength}) too short for {m} rows of [{w.Rows}, {w.Cols}]");
    }

    /// <summary>Up to three weights' panels side by side: global panel j is W0's j below End0, W1's j − End0 below End1, else W2's.</summary>
    struct Group
    {
        public PackedF32Matrix W0, W1, W2;
        public float* Y0, Y1, Y2;
        public int End0, End1, Panels, Rows;
    }

    /// <summary>
    /// y = x · Wᵀ for every weight of <paramref name="g"/> (this one's geometry: cols, K blocks, tile). x's MR-row panels
    /// are packed inside the same parallel job: the threads claim panels to pack, wait until all are packed, then each
    /// runs its equal share of W's panels — no thread waits while another packs alone, and no second fork/join for the packing.
    /// </summary>
    void Run(float* px, int m, ref Group g)
    {
        int mPanels = (m + _mr - 1) / _mr;
        float* a = Buffers.A((long)mPanels * _mr * Cols);
        int threads = (long)m * g.Rows * Cols < 128L * 128 * 32 ? 1 : Math.Min(Workers.Count, g.Panels);
        int packNext = 0, packDone = 0;
        var body = new Body { W = this, G = g, X = px, A = a, M = m, Threads = threads, PackNext = &packNext, PackDone = &packDone };
        if (threads == 1) body.Run(0, 1);
        else Workers.For(threads, body, 1);
    }

    /// <summary>
    /// Packs row panels [i0, i1) of x (m, cols) as MR-row panels per K block: block kb at pc · mPanels · MR, panel i at
    /// + i · kc · MR.
    /// </summary>
    void PackX(float* x, int m, float* a, int i0, int i1)
    {
        int mPanels = (m + _mr - 1) / _mr;
        for (int kb = 0; kb < _kBlocks; kb++)
        {
            int pc = kb * _kcMax, kc = Math.Min(_kcMax, Cols - pc);
            for (int i = i0; i < i1; i++)
            {
                int row = i * _mr, rows = Math.Min(_mr, m - row);
                float* dst = a + (long)pc * mPanels * _mr + (long)i * kc * _mr;
                float* src = x + (long)row * Cols + pc;
                if (GemmPack.TryPackRows(src, Cols, kc, rows, _mr, dst)) continue;
                for (int q = 0; q < kc; q++)
                    for (int r = 0; r < _mr; r++) dst[q * _mr + r] = r < rows ? src[(long)r * Cols + q] : 0f;
            }
        }
    }

    /// <summary>
    /// Each thread first claims row panels of x to pack (one at a time) and waits until every panel is packed (a claiming
    /// barrier: run serially, as a nested For does, the first chunk packs them all and never waits), then takes its own
    /// equal share of the group's panels — chunk t of T: panels [P·t/T, P·(t+1)/T) — in units of at most
    /// <see cref="MaxUnitPanels"/>, and runs every row panel of x against each unit. Every panel costs the same, so equal
    /// shares finish together: claimed one unit at a time, a layer's 18-panel products (o_proj, down_proj: 576 outputs)
    /// went 10 + 8 panels in four units of 4–5. Measured at m = 256, two threads (docs/performance.md, Session 16): o_proj
    /// 0.64 → 0.59 ms, down_proj 1.59 → 1.44, k_proj 0.26 → 0.23, the LM head 41.4 → 39.8.
    /// </summary>
    struct Body : IRangeBody
    {
        public PackedF32Matrix W;
        public Group G;
        public float* X, A;
        public int M, Threads;
        public int* PackNext, PackDone;

        public readonly void Run(int begin, int end)
        {
            var w = W;
            int mPanels = (M + w._mr - 1) / w._mr, mcPanels = MaxMc / w._mr;
            int p;
            while ((p = Interlocked.Increment(ref *PackNext) - 1) < mPanels)
            {
                w.PackX(X, M, A, p, p + 1);
                Interlocked.Increment(ref *PackDone);
            }
            WorkerPool.WaitUntilAtLeast(ref *PackDone, mPanels);
            int share0 = (int)((long)G.Panels * begin / Threads), share1 = (int)((long)G.Panels * end / Threads);
            int units = (share1 - share0 + MaxUnitPanels - 1) / MaxUnitPanels;
            for (int u = 0; u < units; u++)
            {
                int j0 = share0 + (int)((long)(share1 - share0) * u / units), j1 = share0 + (int)((long)(share1 - share0) * (u + 1) / units);
                for (int i0 = 0; i0 < mPanels; i0 += mcPanels)
                {
                    int i1 = Math.Min(mPanels, i0 + mcPanels);
                    for (int kb = 0; kb < w._kBlocks; kb++)
                    {
                        int pc = kb * w._kcMax, kc = Math.Min(w._kcMax, w.Cols - pc);
                        float* aBlock = A + (long)pc * mPanels * w._mr;
                        for (int i = i0; i < i1; i++)
                        {
                            int row = i * w._mr, mr = Math.Min(w._mr, M - row);
                            float* ai = aBlock + (long)i * kc * w._mr;
                            // the unit's panels, matrix by matrix
                            if (j0 < G.End0) Tiles(G.W0, G.Y0, 0, G.End0, j0, j1, kb, kc, ai, row, mr);
                            if (j1 > G.End0 && j0 < G.End1) Tiles(G.W1, G.Y1, G.End0, G.End1, j0, j1, kb, kc, ai, row, mr);
                            if (j1 > G.End1) Tiles(G.W2, G.Y2, G.End1, G.Panels, j0, j1, kb, kc, ai, row, mr);
                        }
                    }
                }
            }
        }

        /// <summary>The tiles of row panel (row, mr) against the panels of matrix w (global [start, stop)) inside [j0, j1).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static void Tiles(PackedF32Matrix w, float* y, int start, int stop, int j0, int j1, int kb, int kc, float* ai, int row, int mr)
        {
            int from = Math.Max(j0, start) - start, to = Math.Min(j1, stop) - start;
            float* yRow = y + (long)row * w.Rows;
            for (int j = from; j < to; j++)
                MicroKernel.Run(w._isa, kc, ai, w.Panel(kb, j), yRow + j * w._nr, w.Rows, mr, Math.Min(w._nr, w.Rows - j * w._nr), 1f, 0f, kb == 0);
        }
    }

    /// <summary>y (1, rows) = x · Wᵀ: each panel's NR outputs accumulated over k in vector registers, threads split the panels.</summary>
    void Gemv(float* x, float* y)
    {
        int threads = (long)Rows * Cols < 1L << 16 ? 1 : Workers.Count;
        var body = new GemvBody { W = this, X = x, Y = y };
        if (threads == 1) body.Run(0, _panels);
        else Workers.For(_panels, body, Math.Max(1, _panels / (4 * threads)));
    }

    struct GemvBody : IRangeBody
    {
        public PackedF32Matrix W;
        public float* X, Y;

        public readonly void Run(int begin, int end)
        {
            var w = W;
            int nr = w._nr;
            float* acc = stackalloc float[nr];
            for (int j = begin; j < end; j++)
            {
                if (nr == 32 && Avx512F.IsSupported)
                {
                    Vector512<float> a0 = default, a1 = default, b0 = default, b1 = default;
                    for (int kb = 0; kb < w._kBlocks; kb++)
                    {
                        int pc = kb * w._kcMax, kc = Math.Min(w._kcMax, w.Cols - pc), q = 0;
                        float* p = w.Panel(kb, j), xs = X + pc;
                        for (; q + 1 < kc; q += 2, p += 64)
                        {
                            var x0 = Vector512.Create(xs[q]);
                            var x1 = Vector512.Create(xs[q + 1]);
                            a0 = Avx512F.FusedMultiplyAdd(x0, Avx512F.LoadAlignedVector512(p), a0);
                            a1 = Avx512F.FusedMultiplyAdd(x0, Avx512F.LoadAlignedVector512(p + 16), a1);
                            b0 = Avx512F.FusedMultiplyAdd(x1, Avx512F.LoadAlignedVector512(p + 32), b0);
                            b1 = Avx512F.FusedMultiplyAdd(x1, Avx512F.LoadAlignedVector512(p + 48), b1);
                        }
                        if (q < kc)
                        {
                            var x0 = Vector512.Create(xs[q]);
                            a0 = Avx512F.FusedMultiplyAdd(x0, Avx512F.LoadAlignedVector512(p), a0);
                            a1 = Avx512F.FusedMultiplyAdd(x0, Avx512F.LoadAlignedVector512(p + 16), a1);
                        }
                    }
                    (a0 + b0).Store(acc);
                    (a1 + b1).Store(acc + 16);
                }
                else
                {
                    for (int c = 0; c < nr; c++) acc[c] = 0f;
                    for (int kb = 0; kb < w._kBlocks; kb++)
                    {
                        int pc = kb * w._kcMax, kc = Math.Min(w._kcMax, w.Cols - pc);
                        float* p = w.Panel(kb, j);
                        for (int q = 0; q < kc; q++, p += nr)
                        {
                            float xq = X[pc + q];
                            for (int c = 0; c < nr; c++) acc[c] = MathF.FusedMultiplyAdd(xq, p[c], acc[c]);
                        }
                    }
                }
                int n = Math.Min(nr, w.Rows - j * nr);
                for (int c = 0; c < n; c++) Y[j * nr + c] = acc[c];
            }
        }
    }

    /// <summary>The caller's packed x, pinned, 64-byte aligned, grown on demand and reused.</summary>
    static class Buffers
    {
        [ThreadStatic] static float[]? _a;

        internal static float* A(long floats)
        {
            if (_a is null || _a.Length < floats + 16)
                _a = GC.AllocateUninitializedArray<float>((int)Math.Max(floats + 16, 4096), pinned: true);
            return (float*)(((nuint)Unsafe.AsPointer(ref _a[0]) + 63) & ~(nuint)63);
        }
    }
}
