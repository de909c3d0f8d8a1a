using Distill.Data.Benchmarks;

namespace Distill.Data.BuiltInTask;

/// <summary>The three disjoint parts of the built-in task.</summary>
public enum Shard { Train, Distill, Test }

/// <summary>One input of a hidden test and the output the reference gives.</summary>
public sealed record TestCase(object Input, object Expected);

/// <summary>
/// A built-in programming problem: a composition of <see cref="Operation"/>s over an input of type
/// <see cref="Input"/>, written out as a HumanEval-style task (signature + docstring with examples,
/// a reference body, and <c>check(candidate)</c> over more inputs than the docstring shows).
/// Everything here is a function of <see cref="Composition"/> alone.
/// </summary>
public sealed record Problem(
    PyType Input,
    IReadOnlyList<Operation> Steps,
    string Composition,
    string CompositionHash,
    string BehaviourHash,
    Shard Shard,
    string EntryPoint,
    string Description,
    string Prompt,
    string CanonicalSolution,
    string Test,
    IReadOnlyList<TestCase> Tests)
{
    /// <summary>Number of steps (1–3): the difficulty reported with every record.</summary>
    public int Difficulty => Steps.Count;

    public PyType Output => Steps[^1].Out;

    /// <summary>Stable across versions: the first 12 hex digits of SHA-256(composition).</summary>
    public string TaskId => "DistillTask/" + CompositionHash[..12];

    /// <summary>The reference function without its docstring (what the summarization view shows).</summary>
    public string Code => Prompt[..Prompt.IndexOf('\n')] + "\n" + CanonicalSolution;

    public CodeTask ToCodeTask() => new(TaskId, Prompt, EntryPoint, Test, CanonicalSolution, TestStyle.Check);
}
