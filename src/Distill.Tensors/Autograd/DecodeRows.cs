namespace Distill.Tensors.Autograd;

/// <summary>
/// One decoding step of a ragged batch: row b feeds one token at its own position <see cref="Positions"/>[b] and
/// owns row <see cref="CacheRows"/>[b] of every layer's <see cref="KvCache"/>. Its key and value are written at that
/// position of that cache row and its query attends the row's keys [0, position] only, so sequences of different
/// lengths decode together without padding: the position ids and the attention span equal those of the sequence
/// run alone (transformers' left-padded convention, position_ids = cumsum(attention_mask) − 1 with the pad keys
/// masked, gives the same positions and the same attended keys). Finished rows are simply left out of the next step.
/// A shared prefix (<see cref="PrefixRows"/>, <see cref="PrefixLengths"/>): row b's keys and values at positions below
/// PrefixLengths[b] are read from cache row PrefixRows[b] instead of its own — the n samples of one prompt read the
/// prompt's prefilled keys from one row, with no copy (their own rows hold only what they generate).
/// </summary>
public sealed class DecodeRows
{
    public DecodeRows(int[] cacheRows, int[] positions, int[]? prefixRows = null, int[]? prefixLengths = null)
    {
        if ((prefixRows is null) != (prefixLengths is null) || prefixRows is not null && (prefixRows.Length != positions.Length || prefixLengths!.Length != positions.Length))
            throw new ArgumentException($"DecodeRows: prefix rows and prefix lengths must both be given, one per row ({positions.Length})");
        PrefixRows = prefixRows;
        PrefixLengths = prefixLengths;
        if (cacheRows.Length != positions.Length || cacheRows.Length == 0)
            throw new ArgumentException($"DecodeRows: {cacheRows.Length} cache rows for {positions.Length} positions (need the same count, at least one)");
        CacheRows = cacheRows;
        Positions = positions;
        for (int b = 0; b < positions.Length; b++)
        {
            if (positions[b] < 0 || cacheRows[b] < 0) throw new ArgumentException($"DecodeRows: row {b} has cache row {cacheRows[b]}, position {positions[b]}");
            MaxPosition = Math.Max(MaxPosition, positions[b]);
            if (prefixRows is not null && (prefixRows[b] < 0 || prefixLengths![b] < 0 || prefixLengths[b] > positions[b]))
                throw new ArgumentException($"DecodeRows: row {b} at position {positions[b]} has prefix row {prefixRows[b]} of length {prefixLengths![b]} (need 0 ≤ length ≤ position)");
        }
    }

    public int[] CacheRows { get; }
    public int[] Positions { get; }
    /// <summary>Per row, the cache row holding its keys below <see cref="PrefixLengths"/>; null: none shared.</summary>
    public int[]? PrefixRows { get; }
    public int[]? PrefixLengths { get; }
    public int Count => Positions.Length;
    public int MaxPosition { get; }
}
