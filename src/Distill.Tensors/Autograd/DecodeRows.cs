namespace Distill.Tensors.Autograd;

/// <summary>
/// One decoding step of a ragged batch: row b feeds one token at its own position <see cref="Positions"/>[b] and
/// owns row <see cref="CacheRows"/>[b] of every layer's <see cref="KvCache"/>. Its key and value are written at that
/// position of that cache row and its query attends the row's keys [0, position] only, so sequences of different
/// lengths decode together without padding: the position ids and the attention span equal those of the sequence
/// run alone (transformers' left-padded convention, position_ids = cumsum(attention_mask) − 1 with the pad keys
/// masked, gives the same positions and the same attended keys). Finished rows are simply left out of the next step.
/// </summary>
public sealed class DecodeRows
{
    public DecodeRows(int[] cacheRows, int[] positions)
    {
        if (cacheRows.Length != positions.Length || cacheRows.Length == 0)
            throw new ArgumentException($"DecodeRows: {cacheRows.Length} cache rows for {positions.Length} positions (need the same count, at least one)");
        CacheRows = cacheRows;
        Positions = positions;
        for (int b = 0; b < positions.Length; b++)
        {
            if (positions[b] < 0 || cacheRows[b] < 0) throw new ArgumentException($"DecodeRows: row {b} has cache row {cacheRows[b]}, position {positions[b]}");
            MaxPosition = Math.Max(MaxPosition, positions[b]);
        }
    }

    public int[] CacheRows { get; }
    public int[] Positions { get; }
    public int Count => Positions.Length;
    public int MaxPosition { get; }
}
