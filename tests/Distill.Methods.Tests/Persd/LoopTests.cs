using Distill.Chat.Caching;
using Distill.Evaluation.Sandbox;
using Distill.Methods.Persd;
using Microsoft.Extensions.AI;

namespace Distill.Methods.Tests.Persd;

/// <summary>
/// The data loop with a scripted student and teacher (no network) and the real sandbox: passing
/// attempts skipped, failing refinements never kept, several rounds, hidden tests out of every prompt,
/// a crashed run resumed without repeating a generation, execution or teacher call; the training
/// variants and pairs; multi-step inference scored on hidden tests only.
/// </summary>
public sealed class LoopTests : IDisposable
{
    static readonly SandboxOptions O = new() { TimeoutSeconds = 5, MemoryMb = 512 };
    const string HiddenMarker = "7777123", HiddenExpected = "15554246";
    readonly string _dir = Path.Combine(Path.GetTempPath(), "persd-loop-" + Guid.NewGuid().ToString("N")[..8]);

    public void Dispose() { try { Directory.Delete(_dir, true); } catch (IOException) { } }

    internal static List<PersdItem> Tasks() =>
    [
        FeedbackTests.Task("double", "Double each number.\n    >>> double([1, 2])\n    [2, 4]", "    return [2 * x for x in numbers]\n",
            $"    assert candidate([1, 2]) == [2, 4]\n    assert candidate([{HiddenMarker}]) == [{HiddenExpected}]\n"),
        FeedbackTests.Task("inc", "Add one to each number.\n    >>> inc([1, 2])\n    [2, 3]", "    return [x + 1 for x in numbers]\n",
            "    assert candidate([1, 2]) == [2, 3]\n    assert candidate([5]) == [6]\n"),
        FeedbackTests.Task("neg", "Negate each number.\n    >>> neg([1, 2])\n    [-1, -2]", "    return [-x for x in numbers]\n",
            "    assert candidate([1, 2]) == [-1, -2]\n    assert candidate([0, 3]) == [0, -3]\n"),
    ];

    /// <summary>double passes its visible example but not the hidden marker; inc fails visibly; neg is right.</summary>
    internal static ScriptedStudent Student() => new((prompt, n) => Enumerable.Repeat(
        prompt.StartsWith("Rectify", StringComparison.Ordinal)
            ? prompt.Contains("def inc(", StringComparison.Ordinal) ? "    return [x + 1 for x in numbers]\n" : "    return numbers\n"
        : prompt.Contains("def double(", StringComparison.Ordinal) ? "    return [x * 2 if x < 1000 else x for x in numbers]\n"
        : prompt.Contains("def inc(", StringComparison.Ordinal) ? "    return numbers\n"
        : "    return [-x for x in numbers]\n", n).ToList());

    /// <summary>inc: right at once; double: wrong (×3) in round 1, right in round 2.</summary>
    static ScriptedTeacher Teacher() => new(m =>
    {
        var last = m[^1].Text;
        if (last.Contains("def inc(", StringComparison.Ordinal)) return "RECTIFIED CODE:\n```python\ndef inc(numbers: list) -> list:\n    return [x + 1 for x in numbers]\n```";
        return last.Contains("x * 3", StringComparison.Ordinal)
            ? "```python\ndef double(numbers: list) -> list:\n    return [x * 2 for x in numbers]\n```"
            : "```python\ndef double(numbers: list) -> list:\n    return [x * 3 for x in numbers]\n```";
    });

    sealed record Run(List<PersdRecord> Records, PersdSummary Summary, int TeacherAnswered, int StudentCalls);

    async Task<Run> RunLoop(string dir, ScriptedTeacher teacher, int rounds, CancellationToken ct = default)
    {
        using var store = new PersdStore(Path.Combine(dir, "persd.sqlite"));
        using var cache = new ResponseCache(Path.Combine(dir, "cache.sqlite"));
        var student = Student();
        var executor = new CodeExecutor(O, store);
        var loop = new PersonalizedDistillation(new CachedCodeStudent(student, store), new ResponseCacheChatClient(teacher, cache, "t"), executor,
            new PersdOptions { Rounds = rounds, Concurrency = 1 });
        int before = teacher.Answered;
        try
        {
            var (records, summary) = await loop.RunAsync(Tasks(), null, ct);
            return new Run(records, summary, teacher.Answered - before, student.Calls);
        }
        finally { LastRuns = (executor.Runs, student.Calls); }
    }

    (long Executions, int StudentCalls) LastRuns;

    [Fact]
    public async Task FailuresGoToTheTeacherAndOnlyPassingRefinementsAreKept()
    {
        var teacher = Teacher();
        var run = await RunLoop(_dir, teacher, rounds: 1);
        var byTask = run.Records.ToDictionary(r => r.TaskId);
        Assert.Equal("passed", byTask["T/neg"].AttemptStatus);
        Assert.Empty(byTask["T/neg"].Rounds); // skipped: the teacher never saw it
        Assert.Equal("failed_visible", byTask["T/inc"].AttemptStatus);
        Assert.Equal("AssertionError\nINPUT: [1, 2]\nOUTPUT: [1, 2]\nEXPECTED: [2, 3]", byTask["T/inc"].Feedback);
        Assert.Equal("    return [x + 1 for x in numbers]\n", byTask["T/inc"].Refinement);
        Assert.Equal("failed_hidden", byTask["T/double"].AttemptStatus);
        Assert.Equal("AssertionError", byTask["T/double"].Feedback);
        Assert.Null(byTask["T/double"].Refinement); // its one refinement (×3) failed: not kept
        Assert.False(byTask["T/double"].Rounds[0].Passed);
        Assert.Equal((3, 1, 2, 1), (run.Summary.Attempts, run.Summary.Passed, run.Summary.Failed, run.Summary.Kept));
        Assert.Equal(2, run.TeacherAnswered);
        Assert.DoesNotContain(teacher.Seen, s => s.Contains("def neg(", StringComparison.Ordinal));
        // the teacher saw the task's reference as its own correct code, the student's program and the feedback
        Assert.Contains(teacher.Seen, s => s == "def inc(numbers: list) -> list:\n    return [x + 1 for x in numbers]\n");
        Assert.Contains(teacher.Seen, s => s.Contains("INCORRECT CODE:\ndef inc(numbers: list) -> list:\n    return numbers\n", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AHiddenTestNeverReachesAPromptOrTheDataSet()
    {
        var teacher = Teacher();
        var run = await RunLoop(_dir, teacher, rounds: 2);
        var student = Student();
        using var store = new PersdStore(Path.Combine(_dir, "inference.sqlite"));
        var report = await RepairInference.RunAsync(Tasks(), student, new CodeExecutor(O, store), 1, 0.2f, 64, 2, 0);
        var everything = teacher.Seen.Concat(student.Prompts).Concat(run.Records.Select(r => r.ToJson().ToJsonString()))
            .Concat(PersdDatasets.Sft(run.Records, PersdVariant.Combined, Tasks().ToDictionary(i => i.Task.TaskId, i => i.Task)).Select(r => r.ToJsonString())).ToList();
        Assert.NotEmpty(everything);
        Assert.DoesNotContain(everything, s => s.Contains(HiddenMarker, StringComparison.Ordinal) || s.Contains(HiddenExpected, StringComparison.Ordinal));
        // the type itself exposes no test text: only a count and a verdict
        Assert.Equal(["Count", "PassesAsync"], typeof(HiddenTests).GetMembers(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.DeclaredOnly)
            .Select(m => m.Name).Where(n => !n.StartsWith("get_", StringComparison.Ordinal)).Order().ToArray());
        Assert.Equal(3, report.Samples.Count);
    }

    [Fact]
    public async Task SeveralRoundsRepairARefinementThatFailed()
    {
        var teacher = Teacher();
        var run = await RunLoop(_dir, teacher, rounds: 2);
        var d = run.Records.Single(r => r.TaskId == "T/double");
        Assert.Equal(2, d.Rounds.Count);
        Assert.Equal("AssertionError\nINPUT: [1, 2]\nOUTPUT: [3, 6]\nEXPECTED: [2, 4]", d.Rounds[0].Feedback);
        Assert.Equal("    return [x * 2 for x in numbers]\n", d.Refinement);
        // round 2 repaired round 1's program with round 1's feedback
        Assert.Contains(teacher.Seen, s => s.Contains("INCORRECT CODE:\ndef double(numbers: list) -> list:\n    return [x * 3 for x in numbers]\n\n\nERROR:\nAssertionError\nINPUT: [1, 2]", StringComparison.Ordinal));
        Assert.Equal(2, run.Summary.Kept);

        var tasks = Tasks().ToDictionary(i => i.Task.TaskId, i => i.Task);
        Assert.Equal(2, PersdDatasets.Sft(run.Records, PersdVariant.Plain, tasks).Count);
        var refine = PersdDatasets.Sft(run.Records, PersdVariant.Refine, tasks);
        Assert.Equal(2, refine.Count);
        Assert.Contains(refine, r => ((string)r["prompt"]!).Contains("ERROR: \nAssertionError\nINPUT: [1, 2]\nOUTPUT: [1, 2]\nEXPECTED: [2, 3]", StringComparison.Ordinal)
            && (string)r["completion"]! == "    return [x + 1 for x in numbers]\n");
        Assert.Equal(4, PersdDatasets.Sft(run.Records, PersdVariant.Combined, tasks).Count);
        var pairs = PersdDatasets.Pairs(run.Records);
        Assert.Equal(2, pairs.Count);
        var inc = pairs.Single(p => (string)p["task_id"]! == "T/inc");
        Assert.Equal("    return [x + 1 for x in numbers]\n", (string)inc["chosen"]!);
        Assert.Equal("    return numbers\n", (string)inc["rejected"]!);
        Assert.Equal(tasks["T/inc"].Prompt, (string)inc["prompt"]!);
    }

    [Fact]
    public async Task ACrashedRunResumesWithoutRepeatingAnything()
    {
        var clean = await RunLoop(Path.Combine(_dir, "a"), Teacher(), rounds: 2);
        var cleanExec = LastRuns.Executions;
        Assert.Equal(3, clean.TeacherAnswered);

        // The run dies after the teacher's first answer (the second call is cancelled before it is answered).
        var dir = Path.Combine(_dir, "b");
        var cts = new CancellationTokenSource();
        var dying = Teacher();
        dying.OnCall = n => { if (n == 2) cts.Cancel(); };
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => RunLoop(dir, dying, rounds: 2, cts.Token));
        var (exec1, student1) = LastRuns;
        int answered1 = dying.Answered;
        Assert.Equal(1, answered1);
        Assert.True(exec1 > 0 && exec1 < cleanExec, $"the crashed run ran {exec1} of {cleanExec} executions");

        var resumed = await RunLoop(dir, Teacher(), rounds: 2);
        var (exec2, student2) = LastRuns;
        Assert.Equal(clean.TeacherAnswered, answered1 + resumed.TeacherAnswered); // no teacher answer asked twice
        Assert.Equal(cleanExec, exec1 + exec2);                                    // no execution run twice
        Assert.Equal(clean.StudentCalls, student1 + student2);                    // no generation run twice
        Assert.Equal(clean.Records.Select(r => r.ToJson().ToJsonString()), resumed.Records.Select(r => r.ToJson().ToJsonString()));

        var again = await RunLoop(dir, Teacher(), rounds: 2);
        Assert.Equal((0, 0L, 0), (again.TeacherAnswered, LastRuns.Executions, LastRuns.StudentCalls));
        Assert.Equal(0, again.Summary.Executions);
        Assert.True(again.Summary.ExecutionCacheHits > 0);
    }

    [Fact]
    public async Task RepairInferenceUsesVisibleFeedbackAndScoresOnHiddenTests()
    {
        var student = Student();
        using var store = new PersdStore(Path.Combine(_dir, "inference.sqlite"));
        var report = await RepairInference.RunAsync(Tasks(), student, new CodeExecutor(O, store), 1, 0.2f, 64, 2, 0);
        // round 0: only neg is right; inc is repaired from its visible feedback; double passes what it sees, is not repaired, and fails hidden
        Assert.Equal(1.0 / 3, report.PassAt1ByRound[0], 6);
        Assert.Equal(2.0 / 3, report.PassAt1ByRound[1], 6);
        Assert.Equal(2.0 / 3, report.PassAt1ByRound[2], 6);
        Assert.Contains(student.Prompts, p => p.StartsWith("Rectify", StringComparison.Ordinal) && p.Contains("def inc(", StringComparison.Ordinal)
            && p.Contains("ERROR: \nAssertionError\nINPUT: [1, 2]\nOUTPUT: [1, 2]\nEXPECTED: [2, 3]", StringComparison.Ordinal));
        Assert.DoesNotContain(student.Prompts, p => p.StartsWith("Rectify", StringComparison.Ordinal) && p.Contains("def double(", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("mbpp:train", 6)]
    [InlineData("builtin:train", 6)]
    public async Task ReferenceRefinementsPassOnEverySource(string source, int n)
    {
        // header + body surgery per format: the reference teacher's answer, cut to a body and put back under the
        // header, must pass the task's visible and hidden tests (MBPP: whole programs, tabs, helpers; built-in: HumanEval style)
        var items = PersdTasks.Load(source, PersdSplit.Train, Distill.Data.RepoData.Benchmarks()!, n, 1);
        using var store = new PersdStore(Path.Combine(_dir, "m.sqlite"));
        var executor = new CodeExecutor(O, store);
        (items, var dropped) = await PersdTasks.VerifyVisibleAsync(items, executor);
        Assert.Equal(0, dropped);
        var student = new ScriptedStudent((_, k) => Enumerable.Repeat("    pass\n", k).ToList());
        var loop = new PersonalizedDistillation(student, new ReferenceTeacher(items), executor, new PersdOptions());
        var (records, summary) = await loop.RunAsync(items);
        Assert.All(records, r => Assert.True(r.Kept, $"{r.TaskId}: {r.Rounds.LastOrDefault()?.Feedback} {r.AttemptStatus} {r.Feedback}\n{r.Rounds.LastOrDefault()?.Refinement}"));
        Assert.Equal(n, summary.Kept);
    }

    [Fact]
    public async Task HumanEvalVisibleTestsComeFromTheDocstringsAndTheReferencePassesThem()
    {
        var items = PersdTasks.Load("humaneval", PersdSplit.Test, Distill.Data.RepoData.Benchmarks()!);
        using var store = new PersdStore(Path.Combine(_dir, "he.sqlite"));
        var (verified, dropped) = await PersdTasks.VerifyVisibleAsync(items, new CodeExecutor(O, store));
        int withTests = verified.Count(i => i.Task.HasVisibleTests), asserts = verified.Sum(i => i.Task.Visible.Count);
        // measured: docs/methods-persd.md (tasks with a visible test after the reference check)
        Assert.True(withTests >= 110, $"{withTests}/164 tasks keep a visible test ({asserts} asserts, {dropped} dropped)");
        Assert.True(dropped < asserts / 5, $"{dropped} examples dropped of {asserts + dropped}");
    }

    [Fact]
    public async Task SeqKdBaselineAsksTheTeacherForEveryTask()
    {
        var items = Tasks();
        var reference = new ReferenceTeacher(items);
        using var store = new PersdStore(Path.Combine(_dir, "s.sqlite"));
        var result = await SeqKdBaseline.RunAsync(items, reference, new CodeExecutor(O, store), new PersdOptions());
        Assert.Equal(3, reference.Calls);
        Assert.Equal((3, 3, 3), (result.Tasks, result.Answered, result.Passed));
        Assert.Equal("    return [2 * x for x in numbers]\n", (string)result.Records.Single(r => (string)r["task_id"]! == "T/double")["completion"]!);
        await Assert.ThrowsAsync<InvalidDataException>(() => reference.GetResponseAsync([new ChatMessage(ChatRole.User, "hello")]));
    }
}
