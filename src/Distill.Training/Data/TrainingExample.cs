namespace Distill.Training.Data;

/// <summary>
/// One tokenized training record. <see cref="Completion"/> is the target of SFT and token-level KD and the chosen
/// answer of a preference pair; <see cref="Rejected"/> is set for preference data only. Scores are PLaD's scoring
/// function s(y) for the margin calibration loss (0 when absent). Prompt tokens never carry a loss.
/// </summary>
public sealed record TrainingExample(int[] Prompt, int[] Completion)
{
    public int[]? Rejected { get; init; }
    public float ChosenScore { get; init; }
    public float RejectedScore { get; init; }

    /// <summary>Prompt + longest answer: what the bucketing sorts by.</summary>
    public int Length => Prompt.Length + Math.Max(Completion.Length, Rejected?.Length ?? 0);
}
