namespace Distill.Data.Benchmarks;

/// <summary>How a task's tests call the solution.</summary>
public enum TestStyle
{
    /// <summary>HumanEval: <c>test</c> defines <c>check(candidate)</c>, called with the entry point.</summary>
    Check,
    /// <summary>MBPP: <c>test</c> is top-level asserts that call the function by name.</summary>
    Asserts,
}

/// <summary>
/// A code task in the docs/architecture.md §4 record (HumanEval's field names: task_id, prompt, entry_point,
/// test, canonical_solution), plus what MBPP needs. For HumanEval a completion continues
/// <see cref="Prompt"/>; for MBPP the answer is a whole program and <see cref="Prompt"/> is the
/// natural-language task.
/// </summary>
/// <param name="TestSetup">Trusted code the tests need (sanitized MBPP's test_imports); empty otherwise.</param>
/// <param name="CandidateSetup">Setup that builds inputs with the candidate's own classes (MBPP's
/// test_setup_code, e.g. trees of the candidate's <c>Node</c>): run after the candidate's program,
/// in its process, as the original harness does.</param>
/// <param name="ChallengeTests">MBPP's challenge_test_list asserts (not part of the standard score).</param>
/// <param name="CompletionContinuesPrompt">True for HumanEval-style tasks (program = prompt + completion).</param>
public sealed record CodeTask(
    string TaskId,
    string Prompt,
    string EntryPoint,
    string Test,
    string CanonicalSolution,
    TestStyle Style,
    string TestSetup = "",
    IReadOnlyList<string>? ChallengeTests = null,
    bool CompletionContinuesPrompt = true,
    string CandidateSetup = "")
{
    /// <summary>The whole program of the canonical solution (HumanEval: prompt + canonical_solution).</summary>
    public string CanonicalProgram => CompletionContinuesPrompt ? Prompt + CanonicalSolution : CanonicalSolution;
}
