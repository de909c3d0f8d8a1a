namespace Distill.Models.Generation;

/// <summary>
/// Decoding settings with transformers' generate() semantics: temperature 0 = greedy; top_k 0 and top_p 1 disable
/// those filters; repetition_penalty 1 disables it; generation stops at max_new_tokens, at an EOS id (kept in the
/// output ids, as generate() returns it) or when the decoded completion contains a stop string (cut before it).
/// </summary>
public sealed record SamplingOptions
{
    public int MaxNewTokens { get; init; } = 128;
    public float Temperature { get; init; } = 1f;
    public int TopK { get; init; }
    public float TopP { get; init; } = 1f;
    public float RepetitionPenalty { get; init; } = 1f;
    public IReadOnlyList<int> EosTokenIds { get; init; } = [];
    public IReadOnlyList<string> StopStrings { get; init; } = [];
    /// <summary>Samples per prompt (num_return_sequences); they decode together as one batch.</summary>
    public int N { get; init; } = 1;
    public ulong Seed { get; init; }

    public void Validate()
    {
        if (MaxNewTokens < 0) throw new ArgumentException($"max new tokens must be ≥ 0, got {MaxNewTokens}");
        if (Temperature < 0 || float.IsNaN(Temperature)) throw new ArgumentException($"temperature must be ≥ 0, got {Temperature}");
        if (TopK < 0) throw new ArgumentException($"top-k must be ≥ 0, got {TopK}");
        if (TopP is <= 0 or > 1) throw new ArgumentException($"top-p must be in (0, 1], got {TopP}");
        if (RepetitionPenalty <= 0) throw new ArgumentException($"repetition penalty must be > 0, got {RepetitionPenalty}");
        if (N < 1) throw new ArgumentException($"n must be ≥ 1, got {N}");
        if (StopStrings.Any(string.IsNullOrEmpty)) throw new ArgumentException("stop strings must not be empty");
    }
}
