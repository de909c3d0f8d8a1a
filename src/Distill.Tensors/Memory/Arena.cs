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
    int _chunk;
    long _offset; // floats used in the current chunk
    int _nextTensor;

    /// <summary>Native bytes held by this arena.</summary>
    public long ReservedBytes { get; private set; }

    /// <summary>A tensor valid until the next <see cref="Reset"/>; zero-filled only if asked (forward kernels overwrite).</summary>
    public Tensor Alloc(scoped ReadOnlySpan<int> shape, bool zero = false)
    {
        long n = 1;
        foreach (var d in shape) n *= d;
        long need = Tensor.AlignedFloats((int)Math.Min(n, int.MaxValue - 16));
        float* p = Bump(need);
        Tensor t;
        if (_nextTensor < _tensors.Count) t = _tensors[_nextTensor];
        else { t = new Tensor(owned: false); _tensors.Add(t); }
        _nextTensor++;
        t.Rebind(p, shape);
        if (zero) t.Span.Clear();
        return t;
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
        var mem = (nint)NativeMemory.AlignedAlloc((nuint)(size * sizeof(float)), 64);
        _chunks.Add((mem, size));
        ReservedBytes += size * sizeof(float);
        _chunk = _chunks.Count - 1;
        _offset = floats;
        return (float*)mem;
    }

    /// <summary>Every tensor handed out since the last Reset becomes invalid.</summary>
    public void Reset()
    {
        _chunk = 0;
        _offset = 0;
        _nextTensor = 0;
    }

    public void Dispose()
    {
        foreach (var (ptr, _) in _chunks) NativeMemory.AlignedFree((void*)ptr);
        _chunks.Clear();
        ReservedBytes = 0;
        GC.SuppressFinalize(this);
    }

    ~Arena() { foreach (var (ptr, _) in _chunks) NativeMemory.AlignedFree((void*)ptr); }
}
