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
}
