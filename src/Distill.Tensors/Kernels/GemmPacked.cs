using System.Runtime.CompilerServices;
using Distill.Tensors.Threading;

namespace Distill.Tensors.Kernels;

/// <summary>
/// The packed, cache-blocked SGEMM (Goto &amp; van de Geijn 2008, "Anatomy of high-performance matrix
/// multiplication"; BLIS's five loops around a micro-kernel):
///
///   for jc in N step NC:                  B block  (KC×NC, packed, ~L3)   shared by all threads
///     for pc in K step KC:                pack B into NR-wide column panels (threads split the panels)
///       for ic in M step MC:              A block  (MC×KC, packed, ~L2)   one per thread
///         for jr in NC step NR:           B micro-panel (KC×NR, L1/L2)
///           for ir in MC step MR:         micro-kernel: an MR×NR tile of C in registers, KC rank-1 updates
///
/// Threads split the ic loop by MR-row panels or the jr loop by NR-column panels, whichever shares out
/// more evenly, claiming the work as they arrive (GemmSchedule.cs). K is never split, and every tile's
/// arithmetic is the same whichever thread runs it, so the result does not depend on the thread count.
/// The first KC block writes C = alpha·acc + beta·C (beta = 0: C is not read); later blocks add alpha·acc.
/// Packing buffers are per thread, pinned, 64-byte aligned and grown once: no allocation per call.
/// </summary>
public static partial class Gemm
{
    // Blocking after BLIS's SkylakeX sgemm values (its 32×12 kernel is our 12×32 seen from Cᵀ), first
    // set for Zen 4 (L1d 32 KiB, L2 1 MiB) with KC = 384, MC = 96. KC went to 576 on the Sapphire Rapids
    // class Xeon (L1d 48 KiB, L2 2 MiB), so that every K = 576 product of the SmolLM2-135M shape (q, k, v,
    // gate, up and the 49,152-column LM head) is one K block and C is written once instead of written,
    // then read and written again: 896×576×49152 NT went 149–216 → 219–234 GFLOPS, interleaved, 2
    // threads. It is now 1,536 (Zen 5, 2026-12-04), so that the K = 1,536 products (down's forward,
    // gate's and up's dX) are one block too, instead of three of 512 — each K block is one more pass over
    // C and one more fork/join with its packing barrier and its tail of single panels: 512×1536×576
    // NT/NN 321/325 → 347/351 GFLOPS, 1024×1536×576 347/352 → 371/374; the trainer's steps, medians
    // of four interleaved rounds, SFT 1,878 → 1,852 ms, token-KD 2,781 → 2,698, DPO 1,039 → 1,027
    // (docs/performance.md, Session 13). The A block MC·KC·4 = 576 KiB still fits L2; a B micro-panel
    // (KC·32·4 = 192 KiB) streams from L2 at 128 bytes per 24 FMAs, which Zen 5's L2 keeps up with (the
    // head's dX, 896×49152×576 NN, K in 32 blocks of 1,536 instead of 86 of 576: 297 → 316 GFLOPS).
    // MC, NC and BLIS's loop order measured within noise. DISTILL_GEMM_KC / _MC / _NC override them for tuning sweeps (bench
    // engine); the result never depends on MC or NC (each C element sees the same K blocks), only on KC.
    internal static readonly int KC = Tunable("DISTILL_GEMM_KC", 1536, 8);
    internal static readonly int MC = Tunable("DISTILL_GEMM_MC", 96, 12);    // multiple of both MRs (6, 12)
    internal static readonly int NC = Tunable("DISTILL_GEMM_NC", 4064, 32);  // multiple of both NRs (16, 32)

    static int Tunable(string name, int fallback, int multiple)
        => int.TryParse(Environment.GetEnvironmentVariable(name), out int v) && v >= multiple && v % multiple == 0 ? v : fallback;

    /// <summary>
    /// Below this many multiply-adds (about 10 µs on one core) a call stays on the calling thread: a
    /// second thread would save less than a fork/join costs, and on a loaded machine waking a worker
    /// can take milliseconds (64³ measured at 0.8 GFLOPS on 2 threads against 80 on one, under load).
    /// </summary>
    internal const long ParallelMinFlops = 128L * 128 * 32;

    /// <summary>One validated call: sizes, scalars and raw operand pointers (spans pinned by the caller).</summary>
    internal unsafe struct Problem(bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, int lda, float* b, int ldb, float beta, float* c, int ldc)
    {
        public bool TransA = transA, TransB = transB;
        public int M = m, N = n, K = k;
        public float Alpha = alpha, Beta = beta;
        public float* A = a, B = b, C = c;
        public int Lda = lda, Ldb = ldb, Ldc = ldc;
        /// <summary>The micro-kernel of this call, chosen once on the calling thread; workers use the same.</summary>
        public GemmIsa Isa = GemmIsaSelect.For(m, n);
        /// <summary>op(B) already packed (a frozen weight's panels), used when laid out for this call's micro-kernel.</summary>
        public GemmPackedB? PackedB;
    }

    /// <summary>The K block size of a product with this K: K blocks of equal size (multiples of 8 for the packers' transposes).</summary>
    internal static int KcMaxFor(int k)
    {
        int kBlocks = (k + KC - 1) / KC;
        return Math.Min(k, RoundUp((k + kBlocks - 1) / kBlocks, 8));
    }

    static unsafe void Packed(in Problem p, bool parallel)
    {
        var (mr, nr) = MicroKernel.Tile(p.Isa);
        if (parallel && (long)p.M * p.N * p.K < ParallelMinFlops) parallel = false;
        int threads = parallel ? Workers.Count : 1;
        int mPanels = (p.M + mr - 1) / mr;
        // N blocks of about equal size too, in whole panels: 8192 → 2752 + 2752 + 2688, not 4064 + 4064 + 64.
        int nBlocks = (p.N + NC - 1) / NC;
        int ncMax = RoundUp((p.N + nBlocks - 1) / nBlocks, nr);
        // K blocks of equal size (a multiple of 8 for the packers' transposes): 768 → 384 + 384, not 576 + 192.
        int kcMax = KcMaxFor(p.K);
        // A frozen weight's panels, packed once (GemmPackedB; its K × N checked by the caller, its K blocks are kcMax's),
        // stand in for every block's packing of B when they are laid out for this call's micro-kernel.
        var prepacked = p.PackedB is { } pb && pb.Isa == p.Isa ? pb : null;
        // Split C by the dimension whose panels share out more evenly among the threads (rows: A
        // private, B packed together; columns: A packed together, B private to each thread's L2).
        // 512 rows are 43 panels of 12 (22 + 21 on two threads), 384 columns 12 panels of 32 (6 + 6).
        // With B prepacked, rows share nothing written during the call (each thread packs its own A, B's panels are only
        // read), while columns have every thread read the A panels the others packed: rows win unless they share out
        // badly. DPO's 512-row products (q/k/v/o, MLP, forward and dx) went columns before this (Session 16, steps
        // alternated in one run: 1,034 → 993 ms median DPO step; k_proj forward at 512 rows 0.75 → 0.47 ms).
        int nPanelsAll = (Math.Min(ncMax, p.N) + nr - 1) / nr;
        bool splitRows = threads == 1 || Imbalance(mPanels, threads) <= Imbalance(nPanelsAll, threads)
            || prepacked is not null && Imbalance(mPanels, threads) <= PrepackedRowsImbalance;
        float* bPack = splitRows && prepacked is null ? PackBuffers.B(kcMax * ncMax) : null;
        float* aShared = splitRows ? null : PackBuffers.AShared(mPanels * mr * kcMax);
        int* counters = stackalloc int[CounterInts]; // the block's work counters (GemmSchedule.cs)

        for (int jc = 0; jc < p.N; jc += ncMax)
        {
            int nc = Math.Min(ncMax, p.N - jc);
            int nPanels = (nc + nr - 1) / nr;
            for (int pc = 0; pc < p.K; pc += kcMax)
            {
                int kc = Math.Min(kcMax, p.K - pc);
                var block = prepacked is null ? new Block(p, jc, nc, pc, kc, bPack, aShared)
                    : new Block(p, jc, nc, pc, kc, prepacked.BlockPanels(pc, jc), aShared, packedB: true);
                new Span<int>(counters, CounterInts).Clear();
                if (splitRows) RunShared(new RowsBody(block, counters, threads), threads);
                else RunShared(new ColumnsBody(block, counters, threads), threads);
            }
        }
    }

    static int RoundUp(int x, int multiple) => (x + multiple - 1) / multiple * multiple;

    /// <summary>With B prepacked, rows are split as long as their largest share is within this of the average (see Packed).</summary>
    const double PrepackedRowsImbalance = 1.1;

    /// <summary>The largest thread's share of panels over the average share (1 = perfectly even).</summary>
    static double Imbalance(int panels, int threads) => (double)((panels + threads - 1) / threads) * threads / panels;

    /// <summary>
    /// One (jc, pc) step of the loop nest: the B block bounds and its packed copy (with <paramref name="packedB"/>, the
    /// block's panels of a <see cref="GemmPackedB"/>, already packed: every thread reads them, none packs).
    /// </summary>
    internal unsafe readonly struct Block(Problem p, int jc, int nc, int pc, int kc, float* bPack, float* aShared, bool packedB = false)
    {
        public readonly Problem P = p;
        public readonly int Jc = jc, Nc = nc, Pc = pc, Kc = kc;
        public readonly float* BPack = bPack, AShared = aShared;
        public readonly bool PackedB = packedB;
    }

    /// <summary>C[ic.., jc + panels] += the product of a packed A block (mc rows) and B panels [panelBegin, panelEnd).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static unsafe void MacroKernel(in Block block, float* aPack, float* bPack, int ic, int mc, int panelBegin, int panelEnd)
    {
        int kc = block.Kc;
        ref readonly var p = ref block.P;
        var (mr, nr) = MicroKernel.Tile(p.Isa);
        bool first = block.Pc == 0;
        for (int panel = panelBegin; panel < panelEnd; panel++)
        {
            int jr = panel * nr;
            int nrHere = Math.Min(nr, block.Nc - jr);
            float* bPanel = bPack + (long)panel * nr * kc;
            for (int ir = 0; ir < mc; ir += mr)
            {
                float* c = p.C + (long)(ic + ir) * p.Ldc + block.Jc + jr;
                MicroKernel.Run(p.Isa, kc, aPack + (long)ir * kc, bPanel, c, p.Ldc, Math.Min(mr, mc - ir), nrHere, p.Alpha, p.Beta, first);
            }
        }
    }

    /// <summary>
    /// Packs rows [row, row + rows) of op(A) (row a multiple of MR) as consecutive MR-row panels at dst.
    /// op(A) = Aᵀ (A stored K×M, the dW = dYᵀ·X layout): one pass along each stored row, which holds
    /// every panel's run of MR floats for that q — reading panel by panel instead revisits each cache
    /// line from several panels after a stride of lda (a power of two here: the lines alias in L1).
    /// </summary>
    static unsafe void PackABlock(in Block block, int row, int rows, float* dst)
    {
        ref readonly var p = ref block.P;
        int mr = MicroKernel.Tile(p.Isa).Mr, kc = block.Kc;
        int full = rows / mr; // whole panels
        if (p.TransA && full > 1 && GemmPack.CanCopyPanelRows(mr))
        {
            float* src = p.A + (long)block.Pc * p.Lda + row;
            for (int q = 0; q < kc; q++, src += p.Lda)
                for (int j = 0; j < full; j++) GemmPack.CopyPanelRow(src + j * mr, dst + ((long)j * kc + q) * mr, mr);
            if (full * mr < rows) PackA(block, row + full * mr, rows - full * mr, dst + (long)full * mr * kc);
            return;
        }
        for (int r = 0; r < rows; r += mr)
            PackA(block, row + r, Math.Min(mr, rows - r), dst + (long)r * kc);
    }

    /// <summary>
    /// Packs rows [row, row + rows) of op(A), columns [pc, pc + kc), as one MR-row panel:
    /// dst[q·MR + r] = op(A)[row + r, pc + q], rows past the edge zero-filled. dst: (kc, MR)
    /// </summary>
    static unsafe void PackA(in Block block, int row, int rows, float* dst)
    {
        int kc = block.Kc;
        ref readonly var p = ref block.P;
        int mr = MicroKernel.Tile(p.Isa).Mr;
        if (p.TransA)
        {
            // A stored K×M: each q is a contiguous run of MR floats.
            float* src = p.A + (long)block.Pc * p.Lda + row;
            if (rows == mr && GemmPack.TryCopyPanelRows(src, p.Lda, kc, mr, dst)) return;
            for (int q = 0; q < kc; q++, src += p.Lda, dst += mr)
            {
                int r = 0;
                for (; r < rows; r++) dst[r] = src[r];
                for (; r < mr; r++) dst[r] = 0f;
            }
            return;
        }
        // A stored M×K: row r is contiguous along q; transpose into the panel.
        if (GemmPack.TryPackRows(p.A + (long)row * p.Lda + block.Pc, p.Lda, kc, rows, mr, dst)) return;
        for (int r = 0; r < mr; r++)
        {
            if (r >= rows) { for (int q = 0; q < kc; q++) dst[q * mr + r] = 0f; continue; }
            float* src = p.A + (long)(row + r) * p.Lda + block.Pc;
            for (int q = 0; q < kc; q++) dst[q * mr + r] = src[q];
        }
    }

    /// <summary>
    /// Packs B panels [panelBegin, panelEnd) of the block: panel j holds op(B)[pc + q, jc + j·NR + c]
    /// at dst[j·KC·NR + q·NR + c] (block-local kc), columns past the edge zero-filled. dst: (panels, kc, NR)
    /// </summary>
    internal static unsafe void PackB(in Block block, float* bPack, int panelBegin, int panelEnd)
    {
        int kc = block.Kc;
        ref readonly var p = ref block.P;
        int nr = MicroKernel.Tile(p.Isa).Nr;
        for (int panel = panelBegin; panel < panelEnd; panel++)
        {
            int col = block.Jc + panel * nr;
            int cols = Math.Min(nr, block.Jc + block.Nc - col);
            float* dst = bPack + (long)panel * nr * kc;
            if (!p.TransB)
            {
                // B stored K×N: each q is a contiguous run of NR floats.
                float* src = p.B + (long)block.Pc * p.Ldb + col;
                if (cols == nr) { GemmPack.CopyRows(src, p.Ldb, kc, nr, dst); continue; }
                for (int q = 0; q < kc; q++, src += p.Ldb, dst += nr)
                {
                    int c = 0;
                    for (; c < cols; c++) dst[c] = src[c];
                    for (; c < nr; c++) dst[c] = 0f;
                }
                continue;
            }
            // B stored N×K (y = x Wᵀ): column c of the panel is row col + c of B, contiguous along q.
            if (GemmPack.TryTransposeRows(p.B + (long)col * p.Ldb + block.Pc, p.Ldb, kc, cols, nr, dst)) continue;
            for (int c = 0; c < nr; c++)
            {
                if (c >= cols) { for (int q = 0; q < kc; q++) dst[q * nr + c] = 0f; continue; }
                float* src = p.B + (long)(col + c) * p.Ldb + block.Pc;
                for (int q = 0; q < kc; q++) dst[q * nr + c] = src[q];
            }
        }
    }
}
