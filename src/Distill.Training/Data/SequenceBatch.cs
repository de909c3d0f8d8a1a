using Distill.Tensors;
using Distill.Tensors.Autograd;

namespace Distill.Training.Data;

/// <summary>
/// Right-padded token sequences ready for a forward pass. Shapes: <see cref="Ids"/>, <see cref="Labels"/> and
/// <see cref="KeyMask"/> are (Rows·T) row-major.
/// Labels are already shifted for a causal LM: Labels[r, t] is the token at position t + 1 when that token belongs
/// to the completion, else −100 (prompt, padding, the last position) — so logits row (r, t) is scored against
/// Labels[r, t] directly by CrossEntropy, SequenceLogProb and TokenDivergence (Hugging Face's ignore index).
/// KeyMask is 0 for a real key and −∞ for padding, the CausalLM's additive key mask.
/// A prompt-shared pair batch (<see cref="Collator.SharedPairs"/>) packs several scored sequences into one row
/// (<see cref="Branches"/>): the prompt's last position predicts the first token of both answers, so its loss rows are
/// not one per position. <see cref="OutputRows"/> then lists, for each of the <see cref="Sequences"/> scored sequences in
/// turn, the rows of the (Rows·T) forward it reads (L per sequence, padded with ignored rows), and Labels is aligned
/// with OutputRows instead of with the positions.
/// </summary>
public sealed class SequenceBatch
{
    readonly int? _sequences;

    public required int Rows { get; init; }
    public required int T { get; init; }
    public required int[] Ids { get; init; }
    public required int[] Labels { get; init; }
    public required float[] KeyMask { get; init; }
    /// <summary>Real (unpadded) length of each row.</summary>
    public required int[] Lengths { get; init; }
    /// <summary>(Prompt length, completion length) actually kept in each row after truncation.</summary>
    public required (int Prompt, int Completion)[] Parts { get; init; }

    /// <summary>Branched rows (a shared prompt, then the chosen and the rejected answer) for the model's forward; null: plain rows.</summary>
    public BranchedRows? Branches { get; init; }

    /// <summary>(Sequences × L): the forward's rows each scored sequence reads, Labels aligned with them; null: Labels follow the positions.</summary>
    public int[]? OutputRows { get; init; }

    /// <summary>Scored sequences: <see cref="Rows"/>, unless rows were packed (a shared pair batch holds 2 per pair).</summary>
    public int Sequences { get => _sequences ?? Rows; init => _sequences = value; }

    /// <summary>Positions that carry a label (completion tokens): the unit of the token-mean losses.</summary>
    public int LabelCount => Labels.Count(l => l != Collator.IgnoreIndex);

    /// <summary>Non-padding tokens, the numerator of tokens/s.</summary>
    public int TokenCount => Lengths.Sum();

    /// <summary>The key mask as a (Rows, T) tensor for <c>CausalLM.Forward</c>; the caller disposes it.</summary>
    public Tensor KeyMaskTensor() => Tensor.FromArray(KeyMask, Rows, T);
}
