namespace Distill.Tensors.Threading;

/// <summary>A body of parallel work over an index range [begin, end). A struct, so no closure is allocated per call.</summary>
public interface IRangeBody
{
    void Run(int begin, int end);
}

/// <summary>
/// The engine's one thread pool (DESIGN.md §5). Work is split by rows (never along a reduction),
/// so results do not depend on the thread count. Thread count: DISTILL_THREADS, else the core count.
/// </summary>
public static class Workers
{
    static int _count = ReadThreadCount();

    public static int Count
    {
        get => _count;
        set => _count = Math.Max(1, value);
    }

    static int ReadThreadCount()
        => int.TryParse(Environment.GetEnvironmentVariable("DISTILL_THREADS"), out var n) && n > 0 ? n : Environment.ProcessorCount;

    /// <summary>Runs body over [0, n) in at most <see cref="Count"/> contiguous chunks of at least minChunk items.</summary>
    public static void For<T>(int n, T body, int minChunk = 1) where T : struct, IRangeBody
    {
        if (n <= 0) return;
        int chunks = Math.Min(Count, Math.Max(1, n / Math.Max(1, minChunk)));
        if (chunks == 1) { body.Run(0, n); return; }
        Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = chunks }, c =>
        {
            long begin = (long)n * c / chunks, end = (long)n * (c + 1) / chunks;
            body.Run((int)begin, (int)end);
        });
    }
}
