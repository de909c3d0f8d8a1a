namespace Distill.Tensors.Threading;

/// <summary>A body of parallel work over an index range [begin, end). A struct, so no closure is allocated per call.</summary>
public interface IRangeBody
{
    void Run(int begin, int end);
}

/// <summary>
/// The engine's one thread pool (docs/architecture.md §5). Work is split into contiguous chunks of the index
/// range (callers split by rows, never along a reduction), so results do not depend on the thread count.
/// Thread count: DISTILL_THREADS, else the core count.
///
/// Implementation: <see cref="Count"/> − 1 persistent background threads; the calling thread runs
/// chunk 0 itself. A worker spins briefly for the next job, then blocks, so back-to-back kernels
/// (a training step issues thousands) pay no thread wake-up, and an idle pool burns no CPU.
/// Zero allocation per call after the first call with a given body type T.
/// A For issued from inside a For body, or while another thread holds the pool, runs inline on the
/// calling thread (same chunks, so the same numbers).
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
        if (WorkerPool.InsideJob || !Monitor.TryEnter(WorkerPool.Gate))
        {
            // Nested or concurrent use: same chunk boundaries, run serially on this thread.
            for (int c = 0; c < chunks; c++) body.Run(ChunkBegin(n, chunks, c), ChunkBegin(n, chunks, c + 1));
            return;
        }
        try
        {
            var job = JobBox<T>.Instance ??= new JobBox<T>();
            job.Body = body;
            job.N = n;
            job.Chunks = chunks;
            WorkerPool.Run(job, chunks);
            job.Body = default;
        }
        finally { Monitor.Exit(WorkerPool.Gate); }
    }

    internal static int ChunkBegin(int n, int chunks, int c) => (int)((long)n * c / chunks);

    /// <summary>The body of one For call, boxed once per T and reused (the pool is entered by one caller at a time).</summary>
    sealed class JobBox<T> : WorkerPool.IJob where T : struct, IRangeBody
    {
        [ThreadStatic] public static JobBox<T>? Instance;
        public T Body;
        public int N, Chunks;
        public void RunChunk(int c) => Body.Run(ChunkBegin(N, Chunks, c), ChunkBegin(N, Chunks, c + 1));
    }
}

/// <summary>Persistent threads behind <see cref="Workers.For{T}"/>.</summary>
static class WorkerPool
{
    internal interface IJob { void RunChunk(int chunk); }

    internal static readonly object Gate = new();
    static readonly object Sleep = new();
    [ThreadStatic] static bool _insideJob;
    internal static bool InsideJob => _insideJob;

    static Thread[] _threads = [];
    static IJob? _job;
    // (generation << 32) | chunks, published in one atomic write so a worker never pairs one job's
    // generation with another job's chunk count.
    static long _state;
    static int _done;   // workers that finished this generation's chunk
    static int _sleepers;
    static Exception? _error;

    // Spinning before a worker blocks: longer than the gap between the kernels of one training step,
    // short enough not to steal a shared core for long. Thread.SpinWait(1) is normalised by the runtime
    // per machine: 20,000 of them took 0.9 ms on the Zen 5 VM (Session 14), about 50 µs on earlier ones.
    const int SpinIterations = 20_000;

    /// <summary>Runs job chunks 0..chunks-1: chunk 0 on the caller, chunk w on worker w. Caller holds Gate.</summary>
    internal static void Run(IJob job, int chunks)
    {
        EnsureThreads(chunks - 1);
        _job = job;
        _error = null;
        Volatile.Write(ref _done, 0);
        lock (Sleep)
        {
            long generation = (Volatile.Read(ref _state) >> 32) + 1;
            Volatile.Write(ref _state, (generation << 32) | (uint)chunks);
            if (_sleepers > 0) Monitor.PulseAll(Sleep);
        }
        _insideJob = true;
        try { job.RunChunk(0); }
        finally
        {
            _insideJob = false;
            WaitUntilAtLeast(ref _done, chunks - 1);
            _job = null;
        }
        if (_error is { } e) throw new AggregateException("a Workers.For body failed", e);
    }

    /// <summary>
    /// Spins until <paramref name="counter"/> reaches <paramref name="target"/> (the join: workers done; a shared operand's
    /// packing: panels packed). Pause loops for about as long as a worker spins before it sleeps, then yielding:
    /// SpinWait.SpinOnce alone yields after about ten spins, a sched_yield system call per turn, which in a
    /// paravirtualised guest costs microseconds each (perf, Session 14: 2–5 % of a DPO step in the kernel's pvm_irq_enable).
    /// </summary>
    internal static void WaitUntilAtLeast(ref int counter, int target)
    {
        for (int spins = 0; spins < SpinIterations; spins++)
        {
            if (Volatile.Read(ref counter) >= target) return;
            Thread.SpinWait(1);
        }
        var spin = new SpinWait();
        while (Volatile.Read(ref counter) < target) spin.SpinOnce(sleep1Threshold: -1);
    }

    static void EnsureThreads(int needed)
    {
        if (_threads.Length >= needed) return;
        Grow(needed);
    }

    // Kept out of EnsureThreads on purpose: the C# compiler allocates the closure of the captured
    // `start` at the top of the scope that declares it, so inlined here it cost 24 bytes on every
    // Workers.For call, early return or not (measured; WorkersTests asserts 0 now).
    static void Grow(int needed)
    {
        var grown = new Thread[needed];
        long start = Generation; // read before the caller publishes the job this thread must see
        Array.Copy(_threads, grown, _threads.Length);
        for (int w = _threads.Length; w < needed; w++)
        {
            int index = w + 1; // worker index = the chunk it runs
            grown[w] = new Thread(() => Loop(index, start)) { IsBackground = true, Name = $"distill-worker-{index}" };
            grown[w].Start();
        }
        _threads = grown;
    }

    static long Generation => Volatile.Read(ref _state) >> 32;

    static void Loop(int index, long seen)
    {
        while (true)
        {
            int spins = 0;
            while (Generation == seen && spins < SpinIterations) { Thread.SpinWait(1); spins++; }
            if (Generation == seen)
            {
                lock (Sleep)
                {
                    _sleepers++;
                    while (Generation == seen) Monitor.Wait(Sleep);
                    _sleepers--;
                }
            }
            long state = Volatile.Read(ref _state);
            seen = state >> 32;
            // The caller waits for every worker below its chunk count, so _job is this generation's.
            if (index >= (int)(state & 0xFFFFFFFF)) continue;
            _insideJob = true;
            try { _job!.RunChunk(index); }
            catch (Exception e) { _error = e; }
            finally { _insideJob = false; }
            Interlocked.Increment(ref _done);
        }
    }
}
