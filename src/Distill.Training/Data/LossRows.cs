namespace Distill.Training.Data;

/// <summary>
/// Which rows of a collated batch a loss reads, so the model's output head runs on those only
/// (<c>CausalLM.Forward(tape, ids, batch, mask, outputRows)</c>): a position whose
/// label is the ignore index (prompt, padding, each row's last position) has logits no loss ever reads, forward or
/// backward. The losses give the same values on the selected rows as on the full batch (an ignored row contributes
/// nothing to CrossEntropy, TokenDivergence or SequenceLogProb).
/// </summary>
public static class LossRows
{
    /// <summary>The rows with a kept label, in order, and their labels; null when there is none (the caller then runs every row).</summary>
    public static (int[] Rows, int[] Labels)? Kept(int[] labels)
    {
        int n = 0;
        foreach (int l in labels) if (l != Collator.IgnoreIndex) n++;
        if (n == 0) return null;
        var rows = new int[n];
        var kept = new int[n];
        for (int i = 0, j = 0; i < labels.Length; i++)
            if (labels[i] != Collator.IgnoreIndex) { rows[j] = i; kept[j++] = labels[i]; }
        return (rows, kept);
    }

    /// <summary>
    /// <see cref="PerSequence(int[], int)"/> of a collated batch: a prompt-shared pair batch already lists its scored rows
    /// (<see cref="SequenceBatch.OutputRows"/>, in the same per-sequence layout), a plain batch scores each row.
    /// </summary>
    public static (int[] Rows, int[] Labels)? PerSequence(SequenceBatch batch)
        => batch.OutputRows is { } rows ? (rows, batch.Labels) : PerSequence(batch.Labels, batch.Sequences);

    /// <summary>
    /// For per-sequence losses (SequenceLogProb sums over each sequence's T positions): every sequence of
    /// <paramref name="sequences"/> keeps its labelled rows in order, padded to the longest sequence's count with ignored
    /// rows (they point at the sequence's first row and carry the ignore index), so the result is still
    /// (sequences × L) and sequence b owns rows [b·L, (b + 1)·L). Null when no row has a label.
    /// </summary>
    public static (int[] Rows, int[] Labels)? PerSequence(int[] labels, int sequences)
    {
        if (sequences <= 0 || labels.Length % sequences != 0)
            throw new ArgumentException($"LossRows: {labels.Length} labels do not split into {sequences} sequences");
        int T = labels.Length / sequences, width = 0;
        for (int b = 0; b < sequences; b++)
        {
            int n = 0;
            for (int t = 0; t < T; t++) if (labels[b * T + t] != Collator.IgnoreIndex) n++;
            width = Math.Max(width, n);
        }
        if (width == 0) return null;
        var rows = new int[sequences * width];
        var kept = new int[sequences * width];
        for (int b = 0; b < sequences; b++)
        {
            int j = b * width;
            for (int t = 0; t < T; t++)
                if (labels[b * T + t] != Collator.IgnoreIndex) { rows[j] = b * T + t; kept[j++] = labels[b * T + t]; }
            for (; j < (b + 1) * width; j++) { rows[j] = b * T; kept[j] = Collator.IgnoreIndex; }
        }
        return (rows, kept);
    }
}
