using Distill.Tensors.Threading;

namespace Distill.Tensors.Kernels;

/// <summary>
/// How the threads of one (jc, pc) block share the work: one Workers.For per block, in which every
/// thread first helps pack the shared operand (fixed units claimed from a counter), waits until it is
/// all packed, then claims panels of C in guided chunks (half its fair share of what is left, at
/// least one panel) until none are left. A thread that arrives late (a worker waking up, or a core
/// taken by another process) finds the packing done and the early chunks gone, instead of the others
/// waiting for its fixed share; the last chunks are single panels, so the threads finish within about
/// one panel of each other. Which thread computes a tile never changes its arithmetic, so the result
/// is still bit-identical for any thread count.
/// Counters live on the caller's stack (it blocks in Workers.For until every chunk is done), a cache
/// line apart: [0] next packing unit, [16] packing units done, [32] next panel of C.
/// </summary>
public static partial class Gemm
{
    const int CounterInts = 48;
    const int PackUnit = 4; // panels per packing claim
    /// <summary>Floats of packed B panels a column-split thread keeps at once: 1 MiB, half this Xeon's L2 (2 MiB), the rest for A and C.</summary>
    static readonly int ColumnBFloats = Tunable("DISTILL_GEMM_COLUMN_FLOATS", 256 * 1024, 1);

    /// <summary>Runs body on every thread of the call (the body claims its own work), or inline with one thread.</summary>
    static void RunShared<T>(T body, int threads) where T : struct, IRangeBody
    {
        if (threads > 1) Workers.For(threads, body, minChunk: 1);
        else body.Run(0, 1);
    }

    /// <summary>Claims [begin, end) of size units from [0, n); false when none are left.</summary>
    static unsafe bool Claim(int* next, int n, int size, out int begin, out int end)
    {
        begin = Interlocked.Add(ref *next, size) - size;
        end = Math.Min(n, begin + size);
        return begin < n;
    }

    /// <summary>Guided claim: half this thread's fair share of the remaining panels, at least one.</summary>
    static unsafe bool ClaimGuided(int* next, int n, int threads, out int begin, out int end)
    {
        while (true)
        {
            int current = Volatile.Read(ref *next);
            if (current >= n) { begin = end = n; return false; }
            int upto = Math.Min(n, current + Math.Max(1, (n - current) / (2 * threads)));
            if (Interlocked.CompareExchange(ref *next, upto, current) == current) { begin = current; end = upto; return true; }
        }
    }

    /// <summary>Spins (yielding now and then) until the shared operand is fully packed.</summary>
    static unsafe void WaitPacked(int* done, int units) => WorkerPool.WaitUntilAtLeast(ref *done, units);

    /// <summary>Split by rows: B packed together into the shared buffer, then row panels claimed; A packed per thread.</summary>
    readonly unsafe struct RowsBody(Block block, int* counters, int threads) : IRangeBody
    {
        public void Run(int begin, int end)
        {
            var (mr, nr) = MicroKernel.Tile(block.P.Isa);
            int nPanels = (block.Nc + nr - 1) / nr, mPanels = (block.P.M + mr - 1) / mr;
            if (!block.PackedB)
            {
                while (Claim(counters, nPanels, PackUnit, out int b0, out int b1))
                {
                    PackB(block, block.BPack, b0, b1);
                    Interlocked.Add(ref counters[16], b1 - b0);
                }
                WaitPacked(counters + 16, nPanels);
            }
            float* aPack = PackBuffers.A(MC * block.Kc);
            while (ClaimGuided(counters + 32, mPanels, threads, out int r0, out int r1))
            {
                int rowEnd = Math.Min(block.P.M, r1 * mr);
                for (int ic = r0 * mr; ic < rowEnd; ic += MC)
                {
                    int mc = Math.Min(MC, rowEnd - ic);
                    PackABlock(block, ic, mc, aPack);
                    MacroKernel(block, aPack, block.BPack, ic, mc, 0, nPanels);
                }
            }
        }
    }

    /// <summary>
    /// Split by columns: A packed together (all M rows), then column panels claimed; each claim packs
    /// its B panels into the thread's own buffer (its L2) and runs them against A, MC rows at a time.
    /// A claim is run <see cref="ColumnBFloats"/> floats of B panels at a time, so the packed panels stay in L2
    /// while all of M passes over them: the LM head's first claim is 384 panels (28 MB at KC = 576),
    /// which every MC block would otherwise stream again from L3.
    /// </summary>
    readonly unsafe struct ColumnsBody(Block block, int* counters, int threads) : IRangeBody
    {
        public void Run(int begin, int end)
        {
            var (mr, nr) = MicroKernel.Tile(block.P.Isa);
            int nPanels = (block.Nc + nr - 1) / nr, mPanels = (block.P.M + mr - 1) / mr;
            while (Claim(counters, mPanels, PackUnit, out int a0, out int a1))
            {
                int row = a0 * mr;
                PackABlock(block, row, Math.Min(block.P.M, a1 * mr) - row, block.AShared + (long)row * block.Kc);
                Interlocked.Add(ref counters[16], a1 - a0);
            }
            WaitPacked(counters + 16, mPanels);
            int step = Math.Max(1, ColumnBFloats / (nr * block.Kc));
            float* own = block.PackedB ? null : PackBuffers.B(Math.Min(nPanels, step) * nr * block.Kc);
            while (ClaimGuided(counters + 32, nPanels, threads, out int claimBegin, out int claimEnd))
                for (int c0 = claimBegin; c0 < claimEnd; c0 += step)
                {
                    int c1 = Math.Min(claimEnd, c0 + step);
                    // so that panel j sits at bPack + j·NR·KC (a packed B's block is laid out so already)
                    float* bPack = block.PackedB ? block.BPack : own - (long)c0 * nr * block.Kc;
                    if (!block.PackedB) PackB(block, bPack, c0, c1);
                    for (int ic = 0; ic < block.P.M; ic += MC)
                        MacroKernel(block, block.AShared + (long)ic * block.Kc, bPack, ic, Math.Min(MC, block.P.M - ic), c0, c1);
                }
        }
    }
}
