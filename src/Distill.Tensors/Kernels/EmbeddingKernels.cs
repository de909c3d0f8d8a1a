namespace Distill.Tensors.Kernels;

/// <summary>Table lookup: y[r] = table[ids[r]]; backward scatters dy rows back (serially: ids repeat).</summary>
public static class EmbeddingKernels
{
    // ids: (rows)  table: (vocab, dim)  y: (rows, dim)
    public static void EmbeddingForward(ReadOnlySpan<int> ids, ReadOnlySpan<float> table, int dim, Span<float> y)
    {
        int vocab = table.Length / dim;
        if (y.Length != ids.Length * dim) throw new ArgumentException($"Embedding: output has {y.Length} values for {ids.Length} ids × {dim}");
        for (int r = 0; r < ids.Length; r++)
        {
            int id = ids[r];
            if ((uint)id >= (uint)vocab) throw new ArgumentOutOfRangeException(nameof(ids), $"Embedding: id {id} at position {r} outside the vocabulary [0, {vocab})");
            table.Slice(id * dim, dim).CopyTo(y.Slice(r * dim, dim));
        }
    }

    public static void EmbeddingBackward(ReadOnlySpan<int> ids, ReadOnlySpan<float> dy, int dim, Span<float> dtable)
    {
        for (int r = 0; r < ids.Length; r++)
            ActivationKernels.AddInto(dy.Slice(r * dim, dim), dtable.Slice(ids[r] * dim, dim));
    }
}
