using Distill.Data.Benchmarks;
using Distill.Evaluation.Code;

namespace Distill.Methods.Persd;

/// <summary>Which side of the train/score wall a task set is on; the two are never mixed (<see cref="PersdTasks"/>).</summary>
public enum PersdSplit { Train, Test }

/// <summary>The student's prompt: the authors' wrapper (a pretrained or API student), or the dataset's own prompt (a student trained on it).</summary>
public enum PromptFormat { Authors, Dataset }

/// <summary>
/// The part of a code task that may reach a prompt (PERsD, Chen et al. 2023): the student's prompt in
/// the authors' format, the function header the answer continues, the reference program shown to the
/// teacher as "CORRECT CODE" (training tasks only), and the VISIBLE tests — the examples the prompt
/// itself shows (docstring <c>&gt;&gt;&gt;</c> lines, MBPP's "&gt;&gt;&gt; Example"). Execution feedback is computed
/// from the visible tests only. The hidden tests are not here: they live in <see cref="HiddenTests"/>,
/// which answers pass/fail and nothing else, so no code path can copy a hidden test into a prompt.
/// </summary>
/// <param name="Prompt">What the student is given; its answer continues it (a function body).</param>
/// <param name="Header">Everything the answer's program starts with: imports, helpers and the entry point's def line.</param>
/// <param name="Visible">The visible tests as top-level asserts calling the entry point.</param>
/// <param name="Reference">A whole reference program (Header + body), or null when the source has none.</param>
public sealed record PersdTask(
    string TaskId,
    string Source,
    PersdSplit Split,
    string Prompt,
    string Header,
    string EntryPoint,
    IReadOnlyList<string> Visible,
    string? Reference)
{
    /// <summary>The task's prompt and setup code with the visible asserts as its only tests (never the hidden ones).</summary>
    internal CodeTask VisibleTask { get; init; } = null!;

    readonly string? _authorsPrompt;

    /// <summary>
    /// The prompt in the authors' format, which the teacher's conversation splits into TASK and HEADER
    /// (<see cref="PersdPrompts.TeacherGoldPrompt"/>). The same as <see cref="Prompt"/> unless the student's prompt is the
    /// dataset's own (persd.prompt_format: dataset): the teacher then still gets the authors' conversation.
    /// </summary>
    public string AuthorsPrompt { get => _authorsPrompt ?? Prompt; init => _authorsPrompt = value; }

    /// <summary>The sandbox job that runs <paramref name="program"/> against the visible tests.</summary>
    public Evaluation.Sandbox.TestJob VisibleJob(string program) => CodeEvaluator.Job(VisibleTask, program);

    public bool HasVisibleTests => Visible.Count > 0;
}

/// <summary>
/// A task's hidden tests. The test text is private: the only thing that leaves this class is a
/// verdict (passed or not), never an assertion, input or expected value — that is what keeps a
/// hidden test out of every prompt, feedback text and data file.
/// </summary>
public sealed class HiddenTests
{
    readonly CodeTask _task;

    internal HiddenTests(CodeTask task) => _task = task;

    public int Count => _task.Test.Split('\n').Count(l => l.TrimStart().StartsWith("assert", StringComparison.Ordinal));

    /// <summary>True when <paramref name="program"/> passes every hidden test.</summary>
    public async Task<bool> PassesAsync(string program, CodeExecutor executor, CancellationToken ct = default)
        => (await executor.RunAsync(CodeEvaluator.Job(_task, program), ct).ConfigureAwait(false)).Status == Evaluation.Sandbox.SandboxStatus.Passed;
}

/// <summary>A task: what prompts may see, and the hidden tests that only judge.</summary>
public sealed record PersdItem(PersdTask Task, HiddenTests Hidden);
