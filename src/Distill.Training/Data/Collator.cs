namespace Distill.Training.Data;

/// <summary>
/// Turns examples into a <see cref="SequenceBatch"/>: prompt + completion per row, right-padded to the longest row,
/// labels shifted by one with prompt and padding positions set to −100 (TRL's DataCollatorForCompletionOnlyLM /
/// DPO's concatenated batch).
/// Truncation to <c>maxLength</c> (TRL keeps the end of the prompt and the start of the completion): the completion
/// keeps at least half the window (or all of it, if shorter); the prompt loses tokens from its left end, the
/// completion from its right end. At least one prompt token always stays, since the first completion token needs a
/// context to be predicted from.
/// Right padding needs no mask in a causal model (a real position never attends to a later pad), but the key mask
/// is built anyway and passed to the model, so correctness does not rest on where the padding sits.
/// </summary>
public static class Collator
{
    public const int IgnoreIndex = -100;

    /// <summary>One row per example: prompt + <paramref name="answer"/>(example).</summary>
    public static SequenceBatch Collate(IReadOnlyList<(int[] Prompt, int[] Answer)> rows, int maxLength, int padId = 0)
    {
        if (rows.Count == 0) throw new ArgumentException("Collator: no rows to collate");
        if (maxLength < 2) throw new ArgumentOutOfRangeException(nameof(maxLength), $"Collator: max length {maxLength} < 2 (a prompt token and a completion token)");
        var parts = new (int Prompt, int Completion)[rows.Count];
        for (int r = 0; r < rows.Count; r++)
        {
            var (p, c) = rows[r];
            if (p.Length == 0) throw new ArgumentException($"Collator: row {r} has an empty prompt; the first completion token needs a context (e.g. BOS)");
            parts[r] = Fit(p.Length, c.Length, maxLength);
        }
        int T = parts.Max(x => x.Prompt + x.Completion);
        int n = rows.Count * T;
        var ids = new int[n];
        var labels = new int[n];
        var mask = new float[n];
        var lengths = new int[rows.Count];
        Array.Fill(ids, padId);
        Array.Fill(labels, IgnoreIndex);
        Array.Fill(mask, float.NegativeInfinity);
        for (int r = 0; r < rows.Count; r++)
        {
            var (p, c) = rows[r];
            var (pl, cl) = parts[r];
            int o = r * T;
            p.AsSpan(p.Length - pl, pl).CopyTo(ids.AsSpan(o));
            c.AsSpan(0, cl).CopyTo(ids.AsSpan(o + pl));
            int len = pl + cl;
            lengths[r] = len;
            mask.AsSpan(o, len).Clear();
            // logits at t predict token t+1: completion token j sits at pl + j, so its label goes to row pl + j − 1
            for (int j = 0; j < cl; j++) labels[o + pl + j - 1] = c[j];
        }
        return new SequenceBatch { Rows = rows.Count, T = T, Ids = ids, Labels = labels, KeyMask = mask, Lengths = lengths, Parts = parts };
    }

    /// <summary>Prompt + completion of each example (SFT, KD).</summary>
    public static SequenceBatch Completions(IReadOnlyList<TrainingExample> examples, int maxLength, int padId = 0)
        => Collate(examples.Select(e => (e.Prompt, e.Completion)).ToList(), maxLength, padId);

    /// <summary>Chosen rows first, then rejected rows (2B rows, one padded length), as TRL's concatenated_forward.</summary>
    public static SequenceBatch Pairs(IReadOnlyList<TrainingExample> examples, int maxLength, int padId = 0)
    {
        for (int i = 0; i < examples.Count; i++)
            if (examples[i].Rejected is null) throw new ArgumentException($"Collator: example {i} has no rejected answer; preference losses need prompt/chosen/rejected records");
        return Collate(examples.Select(e => (e.Prompt, e.Completion)).Concat(examples.Select(e => (e.Prompt, e.Rejected!))).ToList(), maxLength, padId);
    }

    /// <summary>(prompt, completion) lengths kept in a window of <paramref name="maxLength"/>.</summary>
    public static (int Prompt, int Completion) Fit(int prompt, int completion, int maxLength)
    {
        if (prompt + completion <= maxLength) return (prompt, completion);
        int c = Math.Min(completion, Math.Max(maxLength - prompt, maxLength / 2));
        c = Math.Min(c, maxLength - 1);
        return (Math.Min(prompt, maxLength - c), c);
    }
}
