using System.Text.Json.Nodes;
using Distill.Data.Benchmarks;
using Distill.Evaluation.Code;
using Distill.Evaluation.Sandbox;
using Distill.Methods.Persd;
using Distill.Methods.Runs;
using Microsoft.Extensions.AI;

namespace Distill.Methods.Tests.Persd;

/// <summary>
/// persd.teacher_mode: solve — the teacher gets each failed task alone, in the student's prompt format (never the attempt,
/// the feedback or the reference), once per task; its answer is tested like a refinement and kept only if it passes; the
/// refine variant still trains on the student's attempt and feedback → the teacher's passing code. And the recipe checks.
/// </summary>
public sealed class SolveModeTests
{
    static readonly SandboxOptions O = new() { TimeoutSeconds = 5, MemoryMb = 512 };
    const string HiddenMarker = "7777123";

    static PersdItem Task(string entry, string doc, string body, string hiddenTests, PromptFormat format)
    {
        var prompt = $"def {entry}(numbers: list) -> list:\n    \"\"\"{doc}\n    \"\"\"\n";
        return PersdTasks.FromCodeTask(new CodeTask("T/" + entry, prompt, entry, "\n\ndef check(candidate):\n" + hiddenTests, body, TestStyle.Check), "builtin:train", PersdSplit.Train, format);
    }

    /// <summary>double: the student fails a hidden test only; inc: the student fails visibly; neg: the student is right; sq: both fail.</summary>
    static List<PersdItem> Tasks(PromptFormat format) =>
    [
        Task("double", "Double each number.\n    >>> double([1, 2])\n    [2, 4]", "    return [2 * x for x in numbers]\n",
            $"    assert candidate([1, 2]) == [2, 4]\n    assert candidate([{HiddenMarker}]) == [{2 * 7777123}]\n", format),
        Task("inc", "Add one to each number.\n    >>> inc([1, 2])\n    [2, 3]", "    return [x + 1 for x in numbers]\n",
            "    assert candidate([1, 2]) == [2, 3]\n    assert candidate([5]) == [6]\n", format),
        Task("neg", "Negate each number.\n    >>> neg([1, 2])\n    [-1, -2]", "    return [-x for x in numbers]\n",
            "    assert candidate([1, 2]) == [-1, -2]\n", format),
        Task("sq", "Square each number.\n    >>> sq([1, 2])\n    [1, 4]", "    return [x * x for x in numbers]\n",
            "    assert candidate([1, 2]) == [1, 4]\n    assert candidate([3]) == [9]\n", format),
    ];

    const string StudentInc = "    return numbers\n", StudentDouble = "    return [x * 2 if x < 1000 else x for x in numbers]\n", StudentSq = "    return [x + x for x in numbers]\n";

    static ScriptedStudent Student() => new((prompt, n) => Enumerable.Repeat(
        prompt.Contains("def double(", StringComparison.Ordinal) ? StudentDouble
        : prompt.Contains("def inc(", StringComparison.Ordinal) ? StudentInc
        : prompt.Contains("def sq(", StringComparison.Ordinal) ? StudentSq
        : "    return [-x for x in numbers]\n", n).ToList());

    /// <summary>
    /// A teacher that solves: inc right as a continuation of the prompt (a body, as the demo's teacher answers), double right in a
    /// fenced block, sq wrong. It refuses any message holding the student's code, a feedback line or a second turn.
    /// </summary>
    static ScriptedTeacher Teacher() => new(m =>
    {
        Assert.Single(m);
        var text = m[0].Text;
        foreach (var leak in new[] { StudentInc.Trim(), StudentDouble.Trim(), StudentSq.Trim(), "AssertionError", "INCORRECT CODE", "ERROR:", "CORRECT CODE:\n\n    return" })
            Assert.DoesNotContain(leak, text, StringComparison.Ordinal);
        if (text.Contains("def inc(", StringComparison.Ordinal)) return "    return [x + 1 for x in numbers]\n\nprint(inc([1]))\n";
        if (text.Contains("def double(", StringComparison.Ordinal)) return "Here:\n```python\ndef double(numbers: list) -> list:\n    return [x * 2 for x in numbers]\n```";
        return "    return [x * 3 for x in numbers]\n";
    });

    static async Task<(List<PersdRecord> Records, PersdSummary Summary)> Run(List<PersdItem> items, IChatClient teacher, int samples = 1)
        => await new PersonalizedDistillation(Student(), teacher, new CodeExecutor(O, null), new PersdOptions { Samples = samples, Concurrency = 1, Mode = TeacherMode.Solve }).RunAsync(items);

    [Fact]
    public async Task TheTeacherGetsTheFailedTaskAlone_InTheDatasetPrompt_OncePerTask_AndOnlyPassingAnswersAreKept()
    {
        var items = Tasks(PromptFormat.Dataset);
        var teacher = Teacher();
        var (records, summary) = await Run(items, teacher, samples: 2);

        // neg passed: never asked; the three failed tasks asked once each although each failed twice
        Assert.Equal(3, teacher.Calls);
        Assert.Equal(3, summary.TeacherCalls);
        var seen = teacher.Seen.ToHashSet();
        Assert.Equal(items.Where(i => i.Task.EntryPoint != "neg").Select(i => i.Task.Prompt).ToHashSet(), seen);
        // the dataset's own prompt (signature + docstring): no authors' wrapper, no reference, no hidden test
        Assert.All(seen, s => Assert.StartsWith("def ", s));
        Assert.DoesNotContain(seen, s => s.Contains(HiddenMarker, StringComparison.Ordinal) || s.Contains("return [", StringComparison.Ordinal));

        Assert.Equal(8, records.Count);
        Assert.All(records, r => Assert.Equal("solve", r.TeacherMode));
        var byTask = records.GroupBy(r => r.TaskId).ToDictionary(g => g.Key, g => g.ToList());
        Assert.All(byTask["T/neg"], r => { Assert.Equal("passed", r.AttemptStatus); Assert.Empty(r.Rounds); });
        // inc: the continuation, cut at the first non-indented line (the stray print), passes and is kept for both samples
        Assert.All(byTask["T/inc"], r =>
        {
            Assert.Equal("failed_visible", r.AttemptStatus);
            Assert.Equal("AssertionError\nINPUT: [1, 2]\nOUTPUT: [1, 2]\nEXPECTED: [2, 3]", r.Feedback); // the student's feedback stays in the record
            Assert.Equal("    return [x + 1 for x in numbers]\n", r.Refinement);
            Assert.Equal("none", r.Gold);
            Assert.Single(r.Rounds);
        });
        // double: failed a hidden test only; the fenced answer's body passes and is kept
        Assert.All(byTask["T/double"], r => { Assert.Equal("failed_hidden", r.AttemptStatus); Assert.Equal("    return [x * 2 for x in numbers]\n", r.Refinement); });
        // sq: the teacher's answer fails the tests: never kept
        Assert.All(byTask["T/sq"], r => { Assert.Null(r.Refinement); Assert.False(r.Rounds.Single().Passed); Assert.False(r.Kept); });
        Assert.Equal(4, summary.Kept);

        // plain: the task's prompt → the teacher's code; refine: the student's attempt + its feedback → the teacher's code
        var tasks = items.ToDictionary(i => i.Task.TaskId, i => i.Task);
        var plain = PersdDatasets.Sft(records, PersdVariant.Plain, tasks);
        Assert.Equal(4, plain.Count);
        Assert.Contains(plain, r => (string)r["prompt"]! == tasks["T/inc"].Prompt && (string)r["completion"]! == "    return [x + 1 for x in numbers]\n");
        var refine = PersdDatasets.Sft(records, PersdVariant.Refine, tasks);
        var incRefine = refine.First(r => (string)r["task_id"]! == "T/inc");
        Assert.Equal(PersdPrompts.StudentRepairPrompt(tasks["T/inc"], PersdPrompts.Program(tasks["T/inc"], StudentInc), byTask["T/inc"][0].Feedback!), (string)incRefine["prompt"]!);
        Assert.Contains(StudentInc.Trim(), (string)incRefine["prompt"]!, StringComparison.Ordinal);
        Assert.Equal("    return [x + 1 for x in numbers]\n", (string)incRefine["completion"]!);
        Assert.DoesNotContain(refine.Concat(plain), r => r.ToJsonString().Contains(HiddenMarker, StringComparison.Ordinal));
    }

    [Fact]
    public async Task WithTheAuthorsPrompt_TheTeacherGetsTurnOneAlone_WithoutTheGoldProgram()
    {
        var items = Tasks(PromptFormat.Authors);
        var teacher = Teacher();
        var (records, _) = await Run(items, teacher);
        var inc = items.Single(i => i.Task.EntryPoint == "inc").Task;
        Assert.Equal(PersdPrompts.TeacherGoldPrompt(inc), PersdPrompts.TeacherSolvePrompt(inc));
        Assert.Contains(PersdPrompts.TeacherGoldPrompt(inc), teacher.Seen);
        Assert.Equal(3, teacher.Calls);
        // turn 1's answer is parsed as any teacher answer: the code-looking lines of an unfenced answer, the fenced block of the other
        Assert.Equal("    return [x + 1 for x in numbers]\n", records.Single(r => r.TaskId == "T/inc").Refinement);
        Assert.Equal("    return [x * 2 for x in numbers]\n", records.Single(r => r.TaskId == "T/double").Refinement);
    }

    [Fact]
    public async Task TheReferenceTeacherAnswersTheSolvePrompt_SoEveryFailureIsKept()
    {
        var items = Tasks(PromptFormat.Dataset);
        var reference = new ReferenceTeacher(items);
        var (records, summary) = await Run(items, reference);
        Assert.Equal(3, reference.Calls);
        Assert.Equal(3, summary.Kept);
        Assert.All(records.Where(r => r.AttemptStatus != "passed"), r => Assert.Equal(PersdPrompts.Body(items.Single(i => i.Task.TaskId == r.TaskId).Task, items.Single(i => i.Task.TaskId == r.TaskId).Task.Reference!), r.Refinement));
    }

    [Fact]
    public void TheRecordKeepsItsMode_AndOldRecordsReadAsRepair()
    {
        var r = new PersdRecord("T/x", 0, "p", "h", "a", "failed_visible", "AssertionError", "b", [new PersdRound(1, "ans", "b", true, null)], "none", null, "solve");
        var json = r.ToJson();
        Assert.Equal("solve", (string)json["teacher_mode"]!);
        Assert.Equal("solve", PersdRecord.FromJson(json, "x").TeacherMode);
        json.Remove("teacher_mode");
        Assert.Equal("repair", PersdRecord.FromJson(json, "x").TeacherMode);
    }

    [Fact]
    public void SolveCode_ReadsAContinuationAsIs_AndAFencedAnswerAsATeacherAnswer()
    {
        var dataset = Tasks(PromptFormat.Dataset)[1].Task;
        var authors = Tasks(PromptFormat.Authors)[1].Task;
        Assert.Equal("    return x\nfoo()\n", PersdPrompts.SolveCode(dataset, "    return x\nfoo()\n"));
        Assert.Equal("def inc(n):\n    return n\n", PersdPrompts.SolveCode(dataset, "```python\ndef inc(n):\n    return n\n```"));
        Assert.Equal(PersdPrompts.TeacherCode("    return x\nfoo()\n"), PersdPrompts.SolveCode(authors, "    return x\nfoo()\n"));
        Assert.Equal(dataset.Prompt, PersdPrompts.TeacherSolvePrompt(dataset));
    }

    [Fact]
    public void Options_And_Recipe_RefuseSeveralRoundsInSolveMode_AndAnUnknownMode()
    {
        Assert.Throws<ArgumentException>(() => new PersdOptions { Mode = TeacherMode.Solve, Rounds = 2 }.Validate());
        new PersdOptions { Mode = TeacherMode.Solve }.Validate();
        new PersdOptions { Mode = TeacherMode.Repair, Rounds = 3 }.Validate();

        const string head = "method: persd\nstudent: {init: tiny}\nteacher: {model: reference}\n";
        Assert.Equal("repair", Recipe.Parse(head, "r.yaml").String("persd.teacher_mode"));
        var solve = Recipe.Parse(head + "persd: {teacher_mode: solve, train_source: builtin:distill, prompt_format: dataset}\n", "r.yaml");
        Assert.Equal(TeacherMode.Solve, PersdRun.Options(solve).Mode);
        Assert.Equal(TeacherMode.Repair, PersdRun.Options(Recipe.Parse(head, "r.yaml")).Mode);
        var e = Assert.Throws<RecipeException>(() => Recipe.Parse(head + "persd: {teacher_mode: solve, rounds: 2}\n", "r.yaml"));
        Assert.Equal("persd.rounds", e.Key);
        e = Assert.Throws<RecipeException>(() => Recipe.Parse(head + "persd: {teacher_mode: fix}\n", "r.yaml"));
        Assert.Equal("persd.teacher_mode", e.Key);
    }

    [Fact]
    public void TheDemoReadsThePersdCounts_AndLabelsWhatTheTeacherDid()
    {
        // the persd-data marker's details the demo reads (DemoPipeline.PersdCounts), and the verdict's label of what the teacher did
        var marker = new JsonObject { ["details"] = new JsonObject { ["tasks"] = 4, ["failed_tasks"] = 3, ["kept"] = 2, ["train_records"] = 2, ["teacher_mode"] = "solve", ["variant"] = "plain" } };
        var dir = Directory.CreateTempSubdirectory("persd-counts-").FullName;
        try
        {
            Directory.CreateDirectory(Path.Combine(dir, "stages"));
            File.WriteAllText(Path.Combine(dir, "stages", "persd-data.json"), marker.ToJsonString());
            var counts = Distill.Methods.Demo.DemoPipeline.PersdCounts(dir);
            Assert.Equal(2, (int)counts["kept"]!);
            Assert.Equal("solve", (string)counts["teacher_mode"]!);
            var label = Distill.Methods.Demo.DemoScores.PersdLabel(counts);
            Assert.Contains("student failed 3 of 4 distill tasks", label, StringComparison.Ordinal);
            Assert.Contains("solved 2 afresh (not a repair", label, StringComparison.Ordinal);
            counts["teacher_mode"] = "repair";
            Assert.Contains("the teacher repaired 2", Distill.Methods.Demo.DemoScores.PersdLabel(counts), StringComparison.Ordinal);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
