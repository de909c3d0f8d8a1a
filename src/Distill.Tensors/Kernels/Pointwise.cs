using Distill.Tensors.Threading;

namespace Distill.Tensors.Kernels;

/// <summary>
/// Runs an element-wise (or row-wise) kernel over both cores: [0, n) is split into contiguous chunks by
/// <see cref="Workers.For{T}"/>, each chunk calls <c>Fn(args, begin, end)</c>. Element-wise work has no reduction
/// across chunks, so results do not depend on the thread count. Below <see cref="MinElements"/> per chunk the
/// fork/join costs more than it saves, and the call runs on this thread.
/// </summary>
public static unsafe class Pointwise
{
    /// <summary>Elements per chunk below which one thread is faster (a fork/join is a few µs; 16 K floats ≈ 2–5 µs of work).</summary>
    public const int MinElements = 16384;

    /// <summary>Up to seven buffers, a length and two scalars: what the kernels here need, passed by pointer (spans cannot be fields).</summary>
    public struct Args
    {
        public float* A, B, C, D, E, F, G;
        public int* Ints;
        public int N, Dim, K0, K1, K2;
        public float F0, F1;
    }

    struct Body : IRangeBody
    {
        public delegate*<in Args, int, int, void> Fn;
        public Args Args;
        public void Run(int begin, int end) => Fn(in Args, begin, end);
    }

    /// <summary>Fn over [0, n) in chunks of at least <paramref name="minChunk"/> items.</summary>
    public static void For(int n, in Args args, delegate*<in Args, int, int, void> fn, int minChunk = MinElements)
        => Workers.For(n, new Body { Fn = fn, Args = args }, minChunk);

    public static Span<float> S(float* p, int begin, int end) => new(p + begin, end - begin);
}
