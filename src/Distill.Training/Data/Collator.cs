using Distill.Tensors.Autograd;

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

    /// <summary>
    /// The pairs with their prompt shared (<see cref="SequenceBatch.Branches"/>): row b = [prompt | chosen | rejected], the
    /// rejected tokens at the positions the chosen ones have and blind to them, so the prompt runs through the model once
    /// instead of twice (TRL's concatenated_forward runs it twice). The scored sequences are those of <see cref="Pairs"/>:
    /// the B chosen answers, then the B rejected ones (<see cref="SequenceBatch.OutputRows"/>), each reading the rows of
    /// its own tokens — the first answer token of both from the prompt's last row. Truncation is <see cref="Pairs"/>'
    /// (<see cref="Fit"/> per answer): a pair whose two answers keep different prompt lengths cannot share them and packs
    /// as two plain rows, so every pair's log-probs are those of <see cref="Pairs"/> whatever the rest of the batch holds.
    /// A batch with no answer token at all collates as <see cref="Pairs"/>.
    /// </summary>
    public static SequenceBatch SharedPairs(IReadOnlyList<TrainingExample> examples, int maxLength, int padId = 0)
    {
        if (examples.Count == 0) throw new ArgumentException("Collator: no pairs to collate");
        if (maxLength < 2) throw new ArgumentOutOfRangeException(nameof(maxLength), $"Collator: max length {maxLength} < 2 (a prompt token and a completion token)");
        int B = examples.Count, L = 0;
        // per pair: kept prompt and answer lengths, and the packed row (or rows) holding it
        var fit = new (int Pc, int C, int Pr, int R, bool Shared)[B];
        for (int i = 0; i < B; i++)
        {
            var e = examples[i];
            if (e.Rejected is null) throw new ArgumentException($"Collator: example {i} has no rejected answer; preference losses need prompt/chosen/rejected records");
            if (e.Prompt.Length == 0) throw new ArgumentException($"Collator: pair {i} has an empty prompt; the first completion token needs a context (e.g. BOS)");
            var (pc, c) = Fit(e.Prompt.Length, e.Completion.Length, maxLength);
            var (pr, r) = Fit(e.Prompt.Length, e.Rejected.Length, maxLength);
            fit[i] = (pc, c, pr, r, pc == pr);
            L = Math.Max(L, Math.Max(c, r));
        }
        if (L == 0) return Pairs(examples, maxLength, padId);
        var prefix = new List<int>();
        var first = new List<int>();
        var second = new List<int>();
        var rowOf = new int[B];
        for (int i = 0; i < B; i++)
        {
            var (pc, c, pr, r, shared) = fit[i];
            rowOf[i] = prefix.Count;
            if (shared) { prefix.Add(pc); first.Add(c); second.Add(r); }
            else { prefix.Add(pc + c); first.Add(0); second.Add(0); prefix.Add(pr + r); first.Add(0); second.Add(0); }
        }
        int rows = prefix.Count, T = 0;
        for (int r = 0; r < rows; r++) T = Math.Max(T, prefix[r] + first[r] + second[r]);
        var ids = new int[rows * T];
        var mask = new float[rows * T];
        var lengths = new int[rows];
        var parts = new (int Prompt, int Completion)[rows];
        Array.Fill(ids, padId);
        Array.Fill(mask, float.NegativeInfinity);
        var outRows = new int[2 * B * L];
        var labels = new int[2 * B * L];
        Array.Fill(labels, IgnoreIndex);
        // sequence s reads rows[j] for its answer token j (label answer[j]); the rest of its L slots point at its row's start, ignored
        void Score(int s, int row, int[] answer, int count, Func<int, int> rowOfToken)
        {
            for (int j = 0; j < L; j++) outRows[s * L + j] = row * T;
            for (int j = 0; j < count; j++) { outRows[s * L + j] = row * T + rowOfToken(j); labels[s * L + j] = answer[j]; }
        }
        for (int i = 0; i < B; i++)
        {
            var e = examples[i];
            var (pc, c, pr, r, shared) = fit[i];
            int row = rowOf[i], o = row * T;
            e.Prompt.AsSpan(e.Prompt.Length - pc, pc).CopyTo(ids.AsSpan(o));
            e.Completion.AsSpan(0, c).CopyTo(ids.AsSpan(o + pc));
            if (shared)
            {
                e.Rejected!.AsSpan(0, r).CopyTo(ids.AsSpan(o + pc + c));
                lengths[row] = pc + c + r;
                parts[row] = (pc, c + r);
                // logits at t predict token t + 1: chosen token j from row pc + j − 1; rejected token 0 from the prompt's
                // last row pc − 1 too, rejected token j ≥ 1 from the rejected row before it, pc + c + j − 1
                Score(i, row, e.Completion, c, j => pc + j - 1);
                Score(B + i, row, e.Rejected!, r, j => j == 0 ? pc - 1 : pc + c + j - 1);
            }
            else
            {
                int o2 = o + T;
                e.Prompt.AsSpan(e.Prompt.Length - pr, pr).CopyTo(ids.AsSpan(o2));
                e.Rejected!.AsSpan(0, r).CopyTo(ids.AsSpan(o2 + pr));
                (lengths[row], lengths[row + 1]) = (pc + c, pr + r);
                (parts[row], parts[row + 1]) = ((pc, c), (pr, r));
                Score(i, row, e.Completion, c, j => pc + j - 1);
                Score(B + i, row + 1, e.Rejected!, r, j => pr + j - 1);
            }
        }
        for (int r = 0; r < rows; r++) mask.AsSpan(r * T, lengths[r]).Clear();
        return new SequenceBatch
        {
            Rows = rows, T = T, Ids = ids, Labels = labels, KeyMask = mask, Lengths = lengths, Parts = parts,
            Branches = new BranchedRows(T, [.. prefix], [.. first], [.. second]), OutputRows = outRows, Sequences = 2 * B,
        };
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
