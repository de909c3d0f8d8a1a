using System.Runtime.InteropServices;

namespace Distill.Tensors;

/// <summary>
/// A bump allocator for the tensors of one step (activations, their gradients, saved state).
/// Reset() rewinds it: the next step asks for the same sizes in the same order and gets the same
/// memory and the same Tensor objects back, so a steady training or decoding loop allocates
/// nothing, neither native nor managed. Chunks are 64-byte aligned and only ever added
/// (<see cref="ReservedBytes"/> is what the memory-flat test watches).
/// </summary>
public sealed unsafe class Arena : IDisposable
{
    const int MinChunkFloats = 4 << 20; // 16 MiB: few chunks for small models, little waste
    readonly List<(nint Ptr, long Floats)> _chunks = [];
    readonly List<Tensor> _tensors = [];
    readonly List<Tensor> _free = [];   // released tensors, reusable until Reset (backward's dead gradients)
    int _chunk;
    long _offset; // floats used in the current chunk
    int _nextTensor;

    /// <summary>Native bytes held by this arena.</summary>
    public long ReservedBytes { get; private set; }

    /// <summary>A tensor valid until the next <see cref="Reset"/>; zero-filled only if asked (forward kernels overwrite).</summary>
    /// <summary>
    /// Debug aid: fill every uncleared allocation with NaN, so code that reads memory it never wrote (e.g. a GEMM with
    /// β = 1 into a buffer handed out for overwriting) turns the result into NaN instead of passing by luck. The test
    /// assemblies switch it on; DISTILL_ARENA_POISON=1 does it for any run.
    /// </summary>
    public static bool Poison { get; set; } = Environment.GetEnvironmentVariable("DISTILL_ARENA_POISON") == "1";

    public Tensor Alloc(scoped ReadOnlySpan<int> shape, bool zero = false)
    {
        long n = 1;
        foreach (var d in shape) n *= d;
        long need = Tensor.AlignedFloats((int)Math.Min(n, int.MaxValue - 16));
        int best = -1;
        for (int i = 0; i < _free.Count; i++) // best fit: the smallest released block that holds n
            if (_free[i].Capacity >= need && (best < 0 || _free[i].Capacity < _free[best].Capacity)) best = i;
        if (best >= 0)
        {
            var r = _free[best];
            _free.RemoveAt(best);
            r.Rebind(r.Pointer, shape, r.Capacity);
            if (zero) r.Span.Clear();
            else if (Poison) r.Span.Fill(float.NaN);
            return r;
        }
        float* p = Bump(need);
        Tensor t;
        if (_nextTensor < _tensors.Count) t = _tensors[_nextTensor];
        else { t = new Tensor(owned: false); _tensors.Add(t); }
        _nextTensor++;
        t.Rebind(p, shape, need);
        if (zero) t.Span.Clear();
        else if (Poison) t.Span.Fill(float.NaN);
        return t;
    }

    /// <summary>
    /// Returns t's memory for reuse before the next Reset (the tape releases each activation gradient
    /// once backward has consumed it, so peak memory holds the live gradients, not all of them).
    /// The sequence of Alloc/Release calls repeats every step, so reuse is deterministic.
    /// </summary>
    public void Release(Tensor t)
    {
        if (t.IsOwned) throw new ArgumentException("Arena.Release: the tensor is not from an arena");
        _free.Add(t);
    }

    float* Bump(long floats)
    {
        while (_chunk < _chunks.Count)
        {
            var (ptr, cap) = _chunks[_chunk];
            if (_offset + floats <= cap)
            {
                float* p = (float*)ptr + _offset;
                _offset += floats;
                return p;
            }
            _chunk++;
            _offset = 0;
        }
        long size = Math.Max(floats, MinChunkFloats);
        var mem = (nint)LargePages.Alloc((nuint)(size * sizeof(float)));
        _chunks.Add((mem, size));
        ReservedBytes += size * sizeof(float);
        _chunk = _chunks.Count - 1;
        _offset = floats;
        return (float*)mem;
    }

    /// <summary>A point in the arena's allocation sequence to come back to (<see cref="Rewind"/>).</summary>
    public readonly record struct Position(int Chunk, long Offset, int NextTensor);

    public Position Mark() => new(_chunk, _offset, _nextTensor);

    /// <summary>
    /// Every tensor handed out since <paramref name="mark"/> becomes invalid and its memory is handed out again: an
    /// inference forward keeps one layer's temporaries at a time instead of all of them (a prefill of 1,024 tokens
    /// through 30 layers would otherwise touch ≈ 1.2 GB of fresh memory). Released blocks are forgotten.
    /// </summary>
    public void Rewind(Position mark)
    {
        if (mark.Chunk > _chunk || (mark.Chunk == _chunk && mark.Offset > _offset) || mark.NextTensor > _nextTensor)
            throw new ArgumentException("Arena.Rewind: the mark is ahead of the arena (taken before a Reset?)");
        _chunk = mark.Chunk;
        _offset = mark.Offset;
        _nextTensor = mark.NextTensor;
        _free.Clear();
    }

    /// <summary>Every tensor handed out since the last Reset becomes invalid.</summary>
    public void Reset()
    {
        _chunk = 0;
        _offset = 0;
        _nextTensor = 0;
        _free.Clear();
    }

    public void Dispose()
    {
        foreach (var (ptr, _) in _chunks) LargePages.Free((void*)ptr);
        _chunks.Clear();
        ReservedBytes = 0;
        GC.SuppressFinalize(this);
    }

    ~Arena() { foreach (var (ptr, _) in _chunks) LargePages.Free((void*)ptr); }
}
