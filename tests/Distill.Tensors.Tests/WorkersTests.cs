using Distill.Tensors.Threading;

namespace Distill.Tensors.Tests;

/// <summary>The persistent pool: every index exactly once, contiguous chunks, nesting, errors, no allocation.</summary>
[Collection("Workers.Count")]
public class WorkersTests
{
    struct MarkBody(int[] hits, int[] owner) : IRangeBody
    {
        public void Run(int begin, int end)
        {
            for (int i = begin; i < end; i++)
            {
                Interlocked.Increment(ref hits[i]);
                owner[i] = begin; // the chunk that ran i, named by its first index
            }
        }
    }

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(2, 1000, 1)]
    [InlineData(2, 7, 4)]
    [InlineData(3, 10, 1)]
    [InlineData(2, 1, 1)]
    public void Every_index_runs_once_in_contiguous_chunks(int threads, int n, int minChunk)
    {
        int saved = Workers.Count;
        try
        {
            Workers.Count = threads;
            for (int repeat = 0; repeat < 200; repeat++)
            {
                var hits = new int[n];
                var owner = new int[n];
                Workers.For(n, new MarkBody(hits, owner), minChunk);
                Assert.All(hits, h => Assert.Equal(1, h));
                int chunks = owner.Distinct().Count();
                Assert.InRange(chunks, 1, Math.Min(threads, Math.Max(1, n / minChunk)));
                for (int i = 1; i < n; i++) Assert.True(owner[i] == owner[i - 1] || owner[i] == i, "chunks must be contiguous");
            }
        }
        finally { Workers.Count = saved; }
    }

    struct NestedBody(int[] hits) : IRangeBody
    {
        public void Run(int begin, int end)
        {
            for (int i = begin; i < end; i++) Workers.For(10, new MarkBody(hits, new int[10]), 1);
        }
    }

    [Fact]
    public void A_for_inside_a_for_runs_inline()
    {
        var hits = new int[10];
        Workers.For(4, new NestedBody(hits), 1);
        Assert.All(hits, h => Assert.Equal(4, h));
    }

    struct ThrowBody : IRangeBody
    {
        public void Run(int begin, int end)
        {
            if (end == 100) throw new InvalidOperationException("last chunk fails");
        }
    }

    [Fact]
    public void An_exception_in_any_chunk_reaches_the_caller_and_the_pool_survives()
    {
        int saved = Workers.Count;
        try
        {
            Workers.Count = 2;
            var e = Record.Exception(() => Workers.For(100, new ThrowBody(), 1));
            Assert.NotNull(e);
            Assert.Contains("last chunk fails", e.ToString());
            var hits = new int[100];
            Workers.For(100, new MarkBody(hits, new int[100]), 1);
            Assert.All(hits, h => Assert.Equal(1, h));
        }
        finally { Workers.Count = saved; }
    }

    struct SumBody(long[] partial) : IRangeBody
    {
        public void Run(int begin, int end) { for (int i = begin; i < end; i++) partial[i] += i; }
    }

    [Fact]
    public void Calls_allocate_nothing_after_warm_up()
    {
        int saved = Workers.Count;
        try
        {
            Workers.Count = 2;
            var partial = new long[64];
            var body = new SumBody(partial);
            for (int i = 0; i < 10; i++) Workers.For(64, body, 1);
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 1000; i++) Workers.For(64, body, 1);
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.Equal(0, allocated);
            Assert.Equal(1010L * 63, partial[63]);
        }
        finally { Workers.Count = saved; }
    }
}
