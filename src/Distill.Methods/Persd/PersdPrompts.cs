using System.Text.RegularExpressions;
using Microsoft.Extensions.AI;

namespace Distill.Methods.Persd;

/// <summary>
/// PERsD's prompts, verbatim from the authors' prompt files (SalesforceAIResearch/PersDistill/prompts),
/// and the code surgery around them.
/// Teacher (chatgpt_error_instruction.txt, the "auto" feedback variant): the file's two turns, each line
/// stripped of surrounding spaces and joined with "\n" as generate_code_for_alpaca.py reads it:
/// user: turn 1 (the task and header, "CORRECT CODE:"), assistant: the gold program, user: turn 2 (the
/// incorrect code, the ERROR, "RECTIFIED CODE:"). Without a gold program the teacher first answers turn 1
/// itself (the authors' --get-openai-gold), and that answer — cached — is also the SeqKD baseline's.
/// Student repair (ft_error_rectify_instruction.txt) for the refine variant and for multi-step inference.
/// </summary>
public static partial class PersdPrompts
{
    /// <summary>chatgpt_error_instruction.txt, turn 1 (lines stripped, joined with "\n").</summary>
    public const string TeacherTurn1 =
        "Complete the python function to solve the following task. The input format is\n\n" +
        "TASK: << Some Task description >>\n" +
        "HEADER: << Header of the python function definition. Your output should start with this header >>\n\n" +
        "Example\n\nTASK:\n<<TASK>>\n\nHEADER:\n<<HEADER>>\n\nCORRECT CODE:\n\n";

    /// <summary>chatgpt_error_instruction.txt, turn 2.</summary>
    public const string TeacherTurn2 =
        "\nNow act like a python expert, whose objective is to rectify a given incorrect code for the above task, based on the error obtained in unit testing.\n\n" +
        "INCORRECT CODE:\n<<CODE>>\n\nERROR:\n<<ERROR>>\n\n" +
        "Instructions for Code Rectification:\n" +
        "- Based on the above errors, rectify the logic of the incorrect code and write a complete python function to correctly solve the task.\n" +
        "- If the code is significantly wrong then you can completely re-write the code, otherwise try to come up with a correct version that is closest to the given code.\n" +
        "- All output code should be inside code block ``` ``` and start with the given header.\n\n" +
        "RECTIFIED CODE:\n";

    /// <summary>ft_error_rectify_instruction.txt, byte for byte (its trailing spaces included).</summary>
    public const string StudentRepair =
        "Rectify the below code for the given task based on the errors obtained in the unit tests. \n\nTASK: \n<<TASK>>\n<<CODE>>\n\nERROR: \n<<ERROR>>\n\n<<TASK>>\n<<HEADER>>\n";

    static string Fill(string template, params (string Key, string Value)[] values)
    {
        foreach (var (k, v) in values) template = template.Replace(k, v, StringComparison.Ordinal);
        return template;
    }

    /// <summary>
    /// The prompt split as the authors split it: TASK = the prompt up to its last <c>"""</c>,
    /// HEADER = what follows (the code the answer continues).
    /// </summary>
    public static (string Task, string Header) SplitPrompt(string prompt)
    {
        int last = prompt.LastIndexOf("\"\"\"", StringComparison.Ordinal);
        return last < 0 ? ("", prompt) : (prompt[..(last + 3)], prompt[(last + 3)..]);
    }

    /// <summary>Turn 1 for a task: what the teacher answers with a gold program (and SeqKD's teacher prompt).</summary>
    public static string TeacherGoldPrompt(PersdTask task)
    {
        var (t, h) = SplitPrompt(task.AuthorsPrompt);
        return Fill(TeacherTurn1, ("<<TASK>>", t), ("<<HEADER>>", h));
    }

    /// <summary>
    /// What a teacher in solve mode (persd.teacher_mode: solve) is asked about a failed task: the task alone, in the
    /// student's prompt format — the authors' turn 1 (<see cref="TeacherGoldPrompt"/>, also SeqKD's prompt) when the student
    /// gets the authors' wrapper, else the task's own prompt (persd.prompt_format: dataset: signature and docstring, the prompt a
    /// teacher trained on the dataset knows). Never the student's attempt, its feedback or the reference.
    /// </summary>
    public static string TeacherSolvePrompt(PersdTask task) => task.Prompt == task.AuthorsPrompt ? TeacherGoldPrompt(task) : task.Prompt;

    /// <summary>
    /// The code of a solve-mode answer: to the authors' turn 1, parsed as <see cref="TeacherCode"/> parses any teacher answer;
    /// to the task's own prompt, the answer continues the prompt (a body, as a student's sample), unless it holds a fenced block.
    /// </summary>
    public static string SolveCode(PersdTask task, string answer)
        => task.Prompt == task.AuthorsPrompt || answer.Contains("```", StringComparison.Ordinal) ? TeacherCode(answer) : answer;

    /// <summary>The teacher's conversation for one failing program: turn 1, the gold answer, turn 2.</summary>
    public static List<ChatMessage> TeacherRefinement(PersdTask task, string gold, string incorrectProgram, string feedback) =>
    [
        new(ChatRole.User, TeacherGoldPrompt(task)),
        new(ChatRole.Assistant, gold),
        new(ChatRole.User, Fill(TeacherTurn2, ("<<CODE>>", incorrectProgram), ("<<ERROR>>", feedback))),
    ];

    /// <summary>
    /// The student's repair prompt (training data of the refine variant, and multi-step inference):
    /// TASK = the prompt up to its last <c>"""</c>, CODE = the failing program, ERROR = its feedback,
    /// HEADER = the def line; the answer continues it with a body. The authors filled TASK at training
    /// and left it empty at inference; here both fill it, so the student sees at inference what it learnt on.
    /// With the dataset's prompt (persd.prompt_format: dataset) the template's last line ("TASK\nHEADER", the authors'
    /// prompt the body continues) is the student's own prompt instead, so the body continues what the student was trained on.
    /// </summary>
    public static string StudentRepairPrompt(PersdTask task, string incorrectProgram, string feedback)
    {
        var (t, _) = SplitPrompt(task.AuthorsPrompt);
        if (task.Prompt == task.AuthorsPrompt)
            return Fill(StudentRepair, ("<<TASK>>", t), ("<<CODE>>", incorrectProgram), ("<<ERROR>>", feedback), ("<<HEADER>>", task.Header));
        return Fill(StudentRepair[..^StudentRepairTail.Length], ("<<TASK>>", t), ("<<CODE>>", incorrectProgram), ("<<ERROR>>", feedback)) + task.Prompt;
    }

    /// <summary>The student repair template's last line: the prompt the answer continues.</summary>
    const string StudentRepairTail = "<<TASK>>\n<<HEADER>>\n";

    [GeneratedRegex(@"```[ \t]*([A-Za-z0-9_+-]*)[^\n]*\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex Fence();

    /// <summary>
    /// The code of a teacher's answer, as parse_chatgpt_output does: the text after the last "RECTIFIED CODE",
    /// then the last fenced block; without fences, the lines that look like code (indented, def, import, from).
    /// </summary>
    public static string TeacherCode(string answer)
    {
        var text = answer.Replace("\r\n", "\n");
        int mark = text.LastIndexOf("RECTIFIED CODE", StringComparison.Ordinal);
        if (mark >= 0) text = text[(mark + "RECTIFIED CODE".Length)..].TrimStart(':', ' ', '\n');
        var blocks = Fence().Matches(text);
        if (blocks.Count > 0) return blocks[^1].Groups[2].Value;
        return string.Join("\n", text.Split('\n').Where(l => l.StartsWith(' ') || l.StartsWith('\t')
            || l.Trim().StartsWith("def ", StringComparison.Ordinal) || l.Trim().StartsWith("import ", StringComparison.Ordinal) || l.Trim().StartsWith("from ", StringComparison.Ordinal)));
    }

    /// <summary>
    /// The function body an answer gives for a task: when the answer restates the entry point's def
    /// (a teacher's whole function), the lines after that def line; otherwise the answer continues the
    /// header (a student's completion). Either way cut at the first non-indented, non-blank line
    /// (human-eval's stop rule, the authors' get_clean_completion), so the body is what the student
    /// learns to write after the header.
    /// </summary>
    public static string Body(PersdTask task, string code)
    {
        var text = code.Replace("\r\n", "\n");
        var def = Regex.Match(text, $@"(?m)^[ \t]*(?:async\s+)?def\s+{Regex.Escape(task.EntryPoint)}\s*\(");
        if (def.Success)
        {
            int end = def.Index;
            while (true)
            {
                int nl = text.IndexOf('\n', end);
                if (nl < 0) { end = text.Length; break; }
                var line = text[end..nl];
                end = nl + 1;
                if (line.Split('#')[0].TrimEnd().EndsWith(':')) break;
            }
            text = text[end..];
        }
        var lines = text.Split('\n');
        var kept = new List<string>();
        foreach (var l in lines)
        {
            if (l.Length > 0 && !char.IsWhiteSpace(l[0])) break;
            kept.Add(l);
        }
        return string.Join("\n", kept).TrimEnd() + "\n";
    }

    /// <summary>The program tested for a body: the task's header (imports, helpers, def line), then the body.</summary>
    public static string Program(PersdTask task, string body) => task.Header + "\n" + body;
}
