using Distill.Data;
using Distill.Data.Benchmarks;
using Distill.Methods.Persd;

namespace Distill.Methods.Tests.Persd;

/// <summary>PERsD's prompt formats against the authors' prompt files and their reading of them.</summary>
public class PromptTests
{
    // prompts/chatgpt_error_instruction.txt of SalesforceAIResearch/PersDistill, as stored (trailing spaces included).
    const string AuthorsTeacherFile =
        "Complete the python function to solve the following task. The input format is \n\nTASK: << Some Task description >> \nHEADER: << Header of the python function definition. Your output should start with this header >> \n\nExample \n\nTASK: \n<<TASK>> \n\nHEADER: \n<<HEADER>>\n\nCORRECT CODE: \n\n\n==========================================\n\nNow act like a python expert, whose objective is to rectify a given incorrect code for the above task, based on the error obtained in unit testing. \n\nINCORRECT CODE: \n<<CODE>> \n\nERROR: \n<<ERROR>>\n\nInstructions for Code Rectification: \n- Based on the above errors, rectify the logic of the incorrect code and write a complete python function to correctly solve the task. \n- If the code is significantly wrong then you can completely re-write the code, otherwise try to come up with a correct version that is closest to the given code.\n- All output code should be inside code block ``` ``` and start with the given header. \n\nRECTIFIED CODE: \n\n============================================";

    [Fact]
    public void TeacherTurnsAreTheAuthorsFileReadTheirWay()
    {
        // generate_code_for_alpaca.py: for line in readlines(): a line of only '=' closes a turn; else turn.append(line.strip()); "\n".join(turn)
        var turns = new List<string>();
        var turn = new List<string>();
        foreach (var line in AuthorsTeacherFile.Split('\n'))
        {
            if (line.StartsWith('=') && line.Trim().Distinct().Count() == 1) { turns.Add(string.Join("\n", turn)); turn.Clear(); }
            else turn.Add(line.Trim());
        }
        Assert.Equal(2, turns.Count);
        Assert.Equal(PersdPrompts.TeacherTurn1, turns[0]);
        Assert.Equal(PersdPrompts.TeacherTurn2, turns[1]);
    }

    [Fact]
    public void TeacherConversationHoldsTaskGoldCodeAndError()
    {
        var item = FeedbackTests.Task("double", "Double each number.\n    >>> double([1, 2])\n    [2, 4]", "    return [2 * x for x in numbers]\n", "    assert candidate([1]) == [2]\n");
        var t = item.Task;
        Assert.Equal("\"\"\"\nWrite a python function for the following task.\nDouble each number.\n    >>> double([1, 2])\n    [2, 4]\n    \n\"\"\"\ndef double(numbers: list) -> list:\n", t.Prompt);
        Assert.Equal("def double(numbers: list) -> list:", t.Header);
        Assert.Equal(["assert double([1, 2]) == [2, 4]"], t.Visible);
        var m = PersdPrompts.TeacherRefinement(t, "GOLD", "def double(numbers):\n    return numbers\n", "AssertionError\nINPUT: [1, 2]");
        Assert.Equal(3, m.Count);
        Assert.Contains("TASK:\n\"\"\"\nWrite a python function for the following task.\nDouble each number.", m[0].Text);
        Assert.EndsWith("HEADER:\n\ndef double(numbers: list) -> list:\n\n\nCORRECT CODE:\n\n", m[0].Text);
        Assert.Equal("GOLD", m[1].Text);
        Assert.Contains("INCORRECT CODE:\ndef double(numbers):\n    return numbers\n\n\nERROR:\nAssertionError\nINPUT: [1, 2]\n\nInstructions", m[2].Text);
        var repair = PersdPrompts.StudentRepairPrompt(t, "def double(numbers):\n    return numbers\n", "AssertionError");
        Assert.StartsWith("Rectify the below code for the given task based on the errors obtained in the unit tests. \n\nTASK: \n\"\"\"\nWrite", repair);
        Assert.EndsWith("\"\"\"\ndef double(numbers: list) -> list:\n", repair);
    }

    [Fact]
    public void TeacherCodeAndBodyFollowTheAuthorsParsing()
    {
        var item = FeedbackTests.Task("double", "D.", "    return [2 * x for x in numbers]\n", "    assert candidate([1]) == [2]\n");
        var answer = "The bug is X.\nRECTIFIED CODE:\n```python\ndef double(numbers: list) -> list:\n    return [2 * x for x in numbers]\n\nprint(double([1]))\n```\nDone.";
        var code = PersdPrompts.TeacherCode(answer);
        Assert.Equal("    return [2 * x for x in numbers]\n", PersdPrompts.Body(item.Task, code));
        // a student completion continues the header and is cut at the first top-level line
        Assert.Equal("    return numbers\n", PersdPrompts.Body(item.Task, "    return numbers\n\nassert double([1]) == [1]\n"));
        Assert.Equal("def double(numbers: list) -> list:\n    return numbers\n", PersdPrompts.Program(item.Task, "    return numbers\n"));
    }

    [Fact]
    public void HumanEvalHeadersKeepHelpersAndExamplesBecomeAsserts()
    {
        var he = BenchmarkLoader.Load("humaneval", RepoData.Benchmarks()!);
        var t32 = PersdTasks.FromCodeTask(he.Single(t => t.TaskId == "HumanEval/32"), "humaneval", PersdSplit.Test).Task;
        Assert.Contains("def poly(xs: list, x: float):", t32.Header);
        Assert.Contains("return sum([coeff * math.pow(x, i)", t32.Header); // the helper is whole
        Assert.EndsWith("def find_zero(xs: list):", t32.Header);
        var t0 = PersdTasks.FromCodeTask(he[0], "humaneval", PersdSplit.Test).Task;
        Assert.Equal(["assert has_close_elements([1.0, 2.0, 3.0], 0.5) == False", "assert has_close_elements([1.0, 2.8, 3.0, 4.0, 5.0, 2.0], 0.3) == True"], t0.Visible);
    }

    [Fact]
    public void ProseExamplesBecomeAssertsWhenThereAreNoDoctests()
    {
        Assert.Equal(["assert add(2, 3) == 5", "assert add(1, (1)) == 2", "assert add(0, 0) == 0"],
            PersdTasks.DocstringExamples("Add.\n    Examples:\n    add(2, 3) == 5\n    add(1, (1)) ➞ 2.\n    add(0, 0) should return 0\n    badd(1, 2) == 9\n    add(1", "add"));
        // doctests win: prose lines are read only when the docstring has no >>> example
        Assert.Equal(["assert add(1, 1) == 2"], PersdTasks.DocstringExamples(">>> add(1, 1)\n2\n\nadd(2, 2) == 4", "add"));
    }

    [Fact]
    public void MbppPromptShowsItsFirstTestOnly()
    {
        var mbpp = PersdTasks.Load("mbpp:train", PersdSplit.Train, RepoData.Benchmarks()!, n: 1);
        var t = mbpp[0].Task;
        Assert.Equal("Mbpp/601", t.TaskId);
        Assert.StartsWith("\"\"\"\n", t.Prompt);
        Assert.Contains("\n\n>>> Example: ", t.Prompt);
        Assert.Single(t.Visible);
        Assert.True(mbpp[0].Hidden.Count >= 3);
        Assert.EndsWith("\"\"\"\n\n" + t.Header + "\n", t.Prompt);
    }

    [Fact]
    public void TrainingAndScoringSetsAreNeverMixed()
    {
        var dir = RepoData.Benchmarks()!;
        Assert.Contains("scoring set", Assert.Throws<ArgumentException>(() => PersdTasks.Load("humaneval", PersdSplit.Train, dir)).Message);
        Assert.Contains("scoring set", Assert.Throws<ArgumentException>(() => PersdTasks.Load("mbpp:test", PersdSplit.Train, dir)).Message);
        Assert.Contains("scoring set", Assert.Throws<ArgumentException>(() => PersdTasks.Load("builtin:test", PersdSplit.Train, dir)).Message);
        Assert.Contains("training set", Assert.Throws<ArgumentException>(() => PersdTasks.Load("mbpp:train", PersdSplit.Test, dir)).Message);
        var train = PersdTasks.Load("mbpp:train", PersdSplit.Train, dir);
        var test = PersdTasks.Load("mbpp:test", PersdSplit.Test, dir);
        Assert.Equal(374, train.Count);
        Assert.Equal(500, test.Count);
        Assert.All(train, i => Assert.InRange(int.Parse(i.Task.TaskId[5..]), 601, 974));
        PersdTasks.EnsureDisjoint(train, test);
        Assert.Throws<ArgumentException>(() => PersdTasks.EnsureDisjoint(train, [.. test, train[3]]));
    }

    [Fact]
    public void DatasetFormat_StudentGetsTheGenViewPrompt_TeacherStillGetsTheAuthorsConversation()
    {
        // the built-in task's gen view (what the demo's student was trained on): signature + docstring, the body continues it
        var problems = Distill.Data.BuiltInTask.TaskGenerator.Generate(Distill.Data.BuiltInTask.Shard.Distill, 3, 0, 2);
        var authors = PersdTasks.Load("builtin:distill", PersdSplit.Train, "", 3, 0, 2);
        var dataset = PersdTasks.Load("builtin:distill", PersdSplit.Train, "", 3, 0, 2, PromptFormat.Dataset);
        for (int i = 0; i < 3; i++)
        {
            var (a, d) = (authors[i].Task, dataset[i].Task);
            Assert.Equal((string)Distill.Data.BuiltInTask.TaskViews.Record(problems[i], Distill.Data.BuiltInTask.TaskView.Gen)["prompt"]!, d.Prompt);
            Assert.StartsWith("\"\"\"\nWrite a python function for the following task.\n", a.Prompt);
            Assert.Equal(a.Prompt, a.AuthorsPrompt);
            Assert.Equal(a.Prompt, d.AuthorsPrompt);
            Assert.Equal((a.Header, a.Reference), (d.Header, d.Reference));
            Assert.Equal(a.Visible, d.Visible);
            // the teacher's conversation does not depend on the student's format
            Assert.Equal(PersdPrompts.TeacherGoldPrompt(a), PersdPrompts.TeacherGoldPrompt(d));
            Assert.Equal(PersdPrompts.TeacherRefinement(a, "G", "C", "E").Select(m => m.Text), PersdPrompts.TeacherRefinement(d, "G", "C", "E").Select(m => m.Text));
            // the refine variant's prompt: the authors' template, ending in the student's own prompt (which the body continues)
            var ra = PersdPrompts.StudentRepairPrompt(a, "CODE", "ERR");
            var rd = PersdPrompts.StudentRepairPrompt(d, "CODE", "ERR");
            Assert.EndsWith("\n\n" + d.Prompt, rd);
            Assert.Equal(ra[..^(a.AuthorsPrompt.Length)], rd[..^(d.Prompt.Length)]);
            Assert.Contains("TASK: \n" + PersdPrompts.SplitPrompt(a.Prompt).Task + "\nCODE\n\nERROR: \nERR\n\n", rd);
        }
    }

    [Fact]
    public void DatasetFormat_RefusesMbppWhosePromptIsProse()
    {
        var e = Assert.Throws<ArgumentException>(() => PersdTasks.Load("mbpp:train", PersdSplit.Train, RepoData.Benchmarks()!, 1, format: PromptFormat.Dataset));
        Assert.Contains("prompt_format: dataset", e.Message);
        Assert.Throws<ArgumentException>(() => PersdTasks.ParseFormat("chat"));
    }
}
