using Distill.Tensors;

namespace Distill.Training.Data;

/// <summary>
/// Right-padded token sequences ready for a forward pass. Shapes: <see cref="Ids"/>, <see cref="Labels"/> and
/// <see cref="KeyMask"/> are (Rows·T) row-major.
/// Labels are already shifted for a causal LM: Labels[r, t] is the token at position t + 1 when that token belongs
/// to the completion, else −100 (prompt, padding, the last position) — so logits row (r, t) is scored against
/// Labels[r, t] directly by CrossEntropy, SequenceLogProb and TokenDivergence (Hugging Face's ignore index).
/// KeyMask is 0 for a real key and −∞ for padding, the CausalLM's additive key mask.
/// </summary>
public sealed class SequenceBatch
{
    public required int Rows { get; init; }
    public required int T { get; init; }
    public required int[] Ids { get; init; }
    public required int[] Labels { get; init; }
    public required float[] KeyMask { get; init; }
    /// <summary>Real (unpadded) length of each row.</summary>
    public required int[] Lengths { get; init; }
    /// <summary>(Prompt length, completion length) actually kept in each row after truncation.</summary>
    public required (int Prompt, int Completion)[] Parts { get; init; }

    /// <summary>Positions that carry a label (completion tokens): the unit of the token-mean losses.</summary>
    public int LabelCount => Labels.Count(l => l != Collator.IgnoreIndex);

    /// <summary>Non-padding tokens, the numerator of tokens/s.</summary>
    public int TokenCount => Lengths.Sum();

    /// <summary>The key mask as a (Rows, T) tensor for <c>CausalLM.Forward</c>; the caller disposes it.</summary>
    public Tensor KeyMaskTensor() => Tensor.FromArray(KeyMask, Rows, T);
}
