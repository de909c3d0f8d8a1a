using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Distill.Tensors;

/// <summary>Up to four dimensions stored inline, so a shape never allocates.</summary>
[InlineArray(4)]
public struct Dims4 { int _e0; }

/// <summary>
/// A contiguous row-major float32 tensor with an explicit shape (rank 1..4).
/// Storage is native memory aligned to 64 bytes (one cache line, two Vector256): either owned
/// (parameters, optimizer state: <see cref="Create"/>, freed on Dispose or by the finalizer) or
/// borrowed from an <see cref="Arena"/> (activations and their gradients: valid until the arena's
/// next Reset, when the same Tensor object and the same memory are handed out again, so a training
/// step allocates nothing). Native memory rather than pinned arrays because the GC does not align
/// array data to 64 bytes and pinned arrays fragment the heap; the arena still bounds the total.
/// </summary>
public sealed unsafe class Tensor : IDisposable
{
    float* _ptr;
    int _length;
    Dims4 _dims;
    readonly bool _owned;

    /// <summary>Rank (number of dimensions), 1..4.</summary>
    public int Rank { get; private set; }

    /// <summary>True when backward must produce a gradient for this tensor (trainable parameters and what depends on them).</summary>
    public bool RequiresGrad { get; set; }

    /// <summary>The gradient: persistent for parameters, arena-borrowed for activations; null until needed.</summary>
    public Tensor? Grad { get; set; }

    /// <summary>A diagnostic name (parameters carry their Hugging Face name).</summary>
    public string? Name { get; set; }

    /// <summary>
    /// A frozen [out, in] weight's GEMM operands, packed once (<see cref="Kernels.PackedLinearWeight"/>), which the linear
    /// ops read instead of packing this tensor at every call while it has no gradient. A copy of the values when packed:
    /// whoever changes them sets it to null (<see cref="Kernels.PackedLinearWeight"/>'s owner: the trainer, for the run).
    /// </summary>
    public Kernels.PackedLinearWeight? Packed { get; set; }

    internal Tensor(bool owned) => _owned = owned;

    /// <summary>A new owned tensor, zero-filled.</summary>
    public static Tensor Create(params ReadOnlySpan<int> shape)
    {
        var t = new Tensor(owned: true);
        int n = SetShape(ref t._dims, shape, out int rank);
        t.Rank = rank;
        t._length = n;
        t.Capacity = AlignedFloats(n);
        nuint bytes = (nuint)Math.Max(1, AlignedFloats(n)) * sizeof(float);
        t._ptr = (float*)LargePages.Alloc(bytes);
        NativeMemory.Clear(t._ptr, bytes);
        GC.AddMemoryPressure((long)bytes);
        return t;
    }

    /// <summary>A new owned tensor holding a copy of values with the given shape.</summary>
    public static Tensor FromArray(ReadOnlySpan<float> values, params ReadOnlySpan<int> shape)
    {
        var t = Create(shape);
        if (values.Length != t.Length)
            throw new ArgumentException($"FromArray: {values.Length} values for shape {ShapeString(shape)} ({t.Length} elements)");
        values.CopyTo(t.Span);
        return t;
    }

    internal static int AlignedFloats(int n) => (n + 15) & ~15;

    static int SetShape(ref Dims4 dims, scoped ReadOnlySpan<int> shape, out int rank)
    {
        if (shape.Length is < 1 or > 4) throw new ArgumentException($"Tensor rank must be 1..4, got {shape.Length}");
        long n = 1;
        for (int i = 0; i < shape.Length; i++)
        {
            if (shape[i] < 0) throw new ArgumentException($"Tensor dimension {i} is negative: {ShapeString(shape)}");
            dims[i] = shape[i];
            n *= shape[i];
        }
        if (n > int.MaxValue) throw new ArgumentException($"Tensor too large: {ShapeString(shape)}");
        rank = shape.Length;
        return (int)n;
    }

    /// <summary>Points this (arena-owned) object at new memory with a new shape; clears the gradient link.</summary>
    internal void Rebind(float* ptr, scoped ReadOnlySpan<int> shape, long capacity)
    {
        Capacity = capacity;
        _length = SetShape(ref _dims, shape, out int rank);
        Rank = rank;
        _ptr = ptr;
        Grad = null;
        RequiresGrad = false;
        Name = null;
    }

    public int Length => _length;

    /// <summary>Floats of storage behind the pointer (≥ Length; arena blocks keep their size when reused).</summary>
    internal long Capacity { get; private set; }
    public int Dim(int i) => (uint)i < (uint)Rank ? _dims[i] : throw new ArgumentOutOfRangeException(nameof(i), $"dim {i} of a rank-{Rank} tensor");
    public ReadOnlySpan<int> Shape => MemoryMarshal.CreateReadOnlySpan(ref _dims[0], Rank);

    /// <summary>The last dimension (the row length).</summary>
    public int Cols => _dims[Rank - 1];

    /// <summary>The product of all dimensions but the last.</summary>
    public int Rows => Cols == 0 ? 0 : _length / Cols;

    public Span<float> Span => new(_ptr, _length);
    public float* Pointer => _ptr;
    public bool IsOwned => _owned;

    public float this[int i]
    {
        get => (uint)i < (uint)_length ? _ptr[i] : throw new IndexOutOfRangeException();
        set { if ((uint)i >= (uint)_length) throw new IndexOutOfRangeException(); _ptr[i] = value; }
    }

    public Span<float> Row(int r) => Span.Slice(r * Cols, Cols);

    /// <summary>Same memory, another shape with the same element count (a free view).</summary>
    public void Reshape(params ReadOnlySpan<int> shape)
    {
        Dims4 d = default;
        int n = SetShape(ref d, shape, out int rank);
        if (n != _length) throw new ArgumentException($"Reshape: {ShapeString(Shape)} has {_length} elements, {ShapeString(shape)} has {n}");
        _dims = d;
        Rank = rank;
    }

    public bool SameShape(Tensor o)
    {
        if (o.Rank != Rank) return false;
        for (int i = 0; i < Rank; i++) if (_dims[i] != o._dims[i]) return false;
        return true;
    }

    public static string ShapeString(ReadOnlySpan<int> shape) => "(" + string.Join(", ", shape.ToArray()) + ")";
    public override string ToString() => $"Tensor{(Name is null ? "" : " " + Name)} {ShapeString(Shape)}";

    public void Dispose()
    {
        Free();
        GC.SuppressFinalize(this);
    }

    void Free()
    {
        if (_owned && _ptr != null)
        {
            LargePages.Free(_ptr);
            GC.RemoveMemoryPressure((long)Math.Max(1, AlignedFloats(_length)) * sizeof(float));
            _ptr = null;
        }
    }

    ~Tensor() => Free();
}
