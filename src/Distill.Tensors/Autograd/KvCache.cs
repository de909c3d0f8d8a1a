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

    public void Clear() => Length = 0;

    public void Dispose() { K.Dispose(); V.Dispose(); }

    /// <summary>
    /// Copies positions [0, <paramref name="length"/>) of row <paramref name="srcRow"/> of <paramref name="src"/> into row
    /// <paramref name="dstRow"/> of this cache: a prompt prefilled once serves each of its samples.
    /// </summary>
    public void CopyRowFrom(KvCache src, int srcRow, int dstRow, int length)
    {
        if (src.Width != Width || (uint)srcRow >= (uint)src.Batch || (uint)dstRow >= (uint)Batch || length < 0 || length > src.Capacity || length > Capacity)
            throw new ArgumentException($"KvCache.CopyRowFrom: {length} positions of row {srcRow} (of {src.Batch}×{src.Capacity}, width {src.Width}) into row {dstRow} (of {Batch}×{Capacity}, width {Width})");
        int n = length * Width;
        src.K.Span.Slice(srcRow * src.Capacity * Width, n).CopyTo(K.Span.Slice(dstRow * Capacity * Width, n));
        src.V.Span.Slice(srcRow * src.Capacity * Width, n).CopyTo(V.Span.Slice(dstRow * Capacity * Width, n));
    }
}
