namespace Distill.Tensors.Autograd;

/// <summary>
/// Sequences packed as a shared prefix followed by two branches: one row [prompt | chosen | rejected] of a training
/// forward in place of the two rows [prompt | chosen] and [prompt | rejected] (prompt sharing in preference training:
/// the prompt goes through the layers once). Row b of a (batch·T) forward holds <see cref="PrefixLengths"/>[b] prefix
/// tokens at positions 0, 1, …, then the first branch (<see cref="FirstLengths"/>[b] tokens) at the positions that
/// continue the prefix, then the second branch (<see cref="SecondLengths"/>[b] tokens) at those SAME positions again
/// (position = index − first length), then padding. Attention: a prefix or first-branch row attends causally (the
/// prefix and the earlier first-branch rows); a second-branch row attends the prefix and the earlier second-branch rows,
/// never the first branch; with a sliding window the distance is taken between positions. Every row thus sees the same
/// keys at the same positions as in its own separate sequence, so its outputs are those of the two separate sequences
/// (up to float rounding), and backward adds both branches' gradients into the shared prefix rows.
/// A row with empty branches is a plain causal sequence (a pair that cannot share its prompt packs as two such rows).
/// </summary>
public sealed class BranchedRows
{
    public BranchedRows(int length, int[] prefixLengths, int[] firstLengths, int[] secondLengths)
    {
        int n = prefixLengths.Length;
        if (length < 1 || n == 0 || firstLengths.Length != n || secondLengths.Length != n)
            throw new ArgumentException($"BranchedRows: {n} prefix, {firstLengths.Length} first and {secondLengths.Length} second lengths for rows of {length} (need one of each per row, at least one row)");
        Length = length;
        PrefixLengths = prefixLengths;
        FirstLengths = firstLengths;
        SecondLengths = secondLengths;
        Bounds = new int[2 * n];
        int max = 0;
        for (int b = 0; b < n; b++)
        {
            int p = prefixLengths[b], f = firstLengths[b], s = secondLengths[b];
            if (p < 0 || f < 0 || s < 0 || (long)p + f + s > length || p + f + s == 0)
                throw new ArgumentException($"BranchedRows: row {b} has prefix {p}, branches {f} and {s}: need non-negative lengths, at least one token, at most {length} in all");
            Bounds[2 * b] = p;
            Bounds[2 * b + 1] = p + f;
            max = Math.Max(max, p + Math.Max(f, s) - 1);
        }
        MaxPosition = max;
        Positions = new int[n * length];
        for (int b = 0; b < n; b++)
            for (int i = 0; i < length; i++)
                // the second branch (and the padding after it, whose outputs nobody reads) restarts where the first began;
                // padding stays inside [0, MaxPosition] so it never widens the rotary table a forward needs
                Positions[b * length + i] = Math.Min(i < Bounds[2 * b + 1] ? i : i - firstLengths[b], max);
    }

    /// <summary>T: the packed row length (the longest prefix + both branches, padding after).</summary>
    public int Length { get; }
    public int Count => PrefixLengths.Length;
    public int[] PrefixLengths { get; }
    public int[] FirstLengths { get; }
    public int[] SecondLengths { get; }

    /// <summary>(Count, 2): where each row's first and second branches start, as the attention kernels read them (AttentionLayout.Branches).</summary>
    public int[] Bounds { get; }

    /// <summary>(Count·T): the position of every packed row (RoPE angle, learned position embedding).</summary>
    public int[] Positions { get; }

    /// <summary>The largest position of a real token.</summary>
    public int MaxPosition { get; }
}
