namespace Distill.Tensors.Autograd;

/// <summary>
/// Keys and values of one attention layer for incremental decoding: K, V: (batch, capacity, kvHeads·headDim).
/// <see cref="Ops.CausalAttention.Decode"/> writes the new positions' rows and attends over [0, pos + len).
/// </summary>
public sealed class KvCache : IDisposable
{
    public Tensor K { get; }
    public Tensor V { get; }
    public int Batch { get; }
    public int Capacity { get; }
    public int Width { get; }

    /// <summary>Positions filled so far (the next decode position when decoding one sequence left to right).</summary>
    public int Length { get; internal set; }

    public KvCache(int batch, int capacity, int kvHeads, int headDim)
    {
        Batch = batch; Capacity = capacity; Width = kvHeads * headDim;
        K = Tensor.Create(batch, capacity, Width);
        V = Tensor.Create(batch, capacity, Width);
    }

    KvCache(Tensor k, Tensor v, int batch, int capacity, int width)
    {
        K = k; V = v; Batch = batch; Capacity = capacity; Width = width;
    }

    /// <summary>
    /// A cache of <paramref name="batch"/> × <paramref name="capacity"/> over the front of this one's memory (no copy,
    /// nothing owned: valid while this cache lives; disposing it frees nothing): a sampler's prefill reuses one scratch
    /// cache for every chunk of prompts instead of touching fresh memory for each.
    /// </summary>
    public unsafe KvCache View(int batch, int capacity)
    {
        if (batch < 1 || capacity < 1 || (long)batch * capacity > (long)Batch * Capacity)
            throw new ArgumentException($"KvCache.View: {batch}×{capacity} does not fit in {Batch}×{Capacity}");
        var k = new Tensor(owned: false);
        var v = new Tensor(owned: false);
        long n = (long)batch * capacity * Width;
        k.Rebind(K.Pointer, [batch, capacity, Width], n);
        v.Rebind(V.Pointer, [batch, capacity, Width], n);
        return new KvCache(k, v, batch, capacity, Width);
    }

    public void Clear() => Length = 0;

    /// <summary>The shared prompts' keys and values packed for decoding (<see cref="PackPrefix"/>), or null.</summary>
    public PrefixPanels? PrefixPanels { get; private set; }

    /// <summary>
    /// Packs positions [0, lengths[i]) of rows rows[i] as <see cref="Autograd.PrefixPanels"/> for the decoding steps that read
    /// them as a shared prefix (<see cref="Ops.CausalAttention.DecodeRows"/>); replaces any earlier packing.
    /// </summary>
    public void PackPrefix(int kvHeads, IReadOnlyList<int> rows, IReadOnlyList<int> lengths)
    {
        PrefixPanels?.Dispose();
        PrefixPanels = null;
        PrefixPanels = Autograd.PrefixPanels.Pack(this, kvHeads, rows, lengths);
    }

    /// <summary>A write at <paramref name="position"/> of row <paramref name="row"/>: packed keys it changes are dropped.</summary>
    internal void Written(int row, int position) => PrefixPanels?.Written(row, position);

    public void Dispose() { K.Dispose(); V.Dispose(); PrefixPanels?.Dispose(); }

    /// <summary>
    /// Copies positions [0, <paramref name="length"/>) of row <paramref name="srcRow"/> of <paramref name="src"/> into row
    /// <paramref name="dstRow"/> of this cache: a prompt prefilled once serves each of its samples.
    /// </summary>
    public void CopyRowFrom(KvCache src, int srcRow, int dstRow, int length)
    {
        if (src.Width != Width || (uint)srcRow >= (uint)src.Batch || (uint)dstRow >= (uint)Batch || length < 0 || length > src.Capacity || length > Capacity)
            throw new ArgumentException($"KvCache.CopyRowFrom: {length} positions of row {srcRow} (of {src.Batch}×{src.Capacity}, width {src.Width}) into row {dstRow} (of {Batch}×{Capacity}, width {Width})");
        int n = length * Width;
        if (length > 0) Written(dstRow, 0);
        src.K.Span.Slice(srcRow * src.Capacity * Width, n).CopyTo(K.Span.Slice(dstRow * Capacity * Width, n));
        src.V.Span.Slice(srcRow * src.Capacity * Width, n).CopyTo(V.Span.Slice(dstRow * Capacity * Width, n));
    }
}
