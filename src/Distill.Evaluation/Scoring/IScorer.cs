namespace Distill.Evaluation.Scoring;

/// <summary>What a scorer may look at: the prompt, the response, and whatever reference it needs.</summary>
/// <param name="Reference">A reference answer (ROUGE, judge against reference); null if none.</param>
/// <param name="Task">The code task, for test-based scoring; null otherwise.</param>
public sealed record ScoringInput(string Prompt, string Response, string? Reference = null, Distill.Data.Benchmarks.CodeTask? Task = null);

/// <summary>
/// Scores one response; higher is better. Implementations here: tests passed (fraction),
/// ROUGE against a reference, LLM judge against a reference; a reward model through
/// <see cref="IRewardModel"/>, which the models layer implements (Evaluation may not reference
/// Distill.Models). PLaD's margin calibration loss and its win-rate metrics take any scorer.
/// </summary>
public interface IScorer
{
    /// <summary>Short name used in reports ("tests", "rougeL", "judge", "reward").</summary>
    string Name { get; }

    Task<double> ScoreAsync(ScoringInput input, CancellationToken ct = default);
}

/// <summary>
/// A scalar reward for (prompt, response): a Llama-architecture model with a scalar head, as
/// transformers' LlamaForSequenceClassification (num_labels = 1; the score is the head's output
/// at the last non-padding token). Implemented in Distill.Models, which Evaluation cannot reference.
/// </summary>
public interface IRewardModel
{
    Task<double> RewardAsync(string prompt, string response, CancellationToken ct = default);
}
