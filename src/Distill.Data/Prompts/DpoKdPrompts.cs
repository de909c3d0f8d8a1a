namespace Distill.Data.Prompts;

/// <summary>The two tasks of the DPO-KD paper's experiments (§4.1.1).</summary>
public enum DpoKdTask { CodeSummary, CodeGeneration }

/// <summary>
/// The DPO-KD paper's task prompts (Chung et al., "Empowering Small Models: DPO-Assisted Knowledge
/// Distillation for Alignment with Large Language Models", §4.1.1, Table 1 "Prompt template for code
/// summary and code generation task"), which teacher and student both answer to make the preference
/// pairs. Quoted in docs/judge-prompt.md.
/// <para>
/// <see cref="CodeSummaryTable1"/> and <see cref="CodeGenerationTable1"/> are the table's cells
/// verbatim, placeholders as the paper spells them. The table writes the code-summary placeholder
/// <c>"PYTHON_CODE"'</c>: the closing <c>'</c> is read as the end of the Python string literal the
/// template was copied from (the milestone report's Table 1 has it too; the generation cell, whose
/// placeholder is followed by more text, has none), so <see cref="CodeSummary"/> keeps the double
/// quotes around the code and drops the apostrophe. Nothing else is changed.
/// </para>
/// </summary>
public static class DpoKdPrompts
{
    /// <summary>Table 1, "Code Summary", verbatim.</summary>
    public const string CodeSummaryTable1 =
        "Given the following Python code, provide a summary of its functionality: \"PYTHON_CODE\"'";

    /// <summary>Table 1, "Code Generation", verbatim.</summary>
    public const string CodeGenerationTable1 =
        "Write a Python function that solves the following problem: \"PROBLEM DESCRIPTION\" Your function should take appropriate input (if any) " +
        "and return the expected output. Feel free to provide any additional context or constraints necessary for solving the problem.";

    const string CodePlaceholder = "PYTHON_CODE";
    const string ProblemPlaceholder = "PROBLEM DESCRIPTION";

    /// <summary>The code-summary prompt for one piece of Python code (the input of the summarisation task).</summary>
    public static string CodeSummary(string pythonCode)
    {
        ArgumentNullException.ThrowIfNull(pythonCode);
        return CodeSummaryTable1[..^1].Replace(CodePlaceholder, pythonCode, StringComparison.Ordinal);
    }

    /// <summary>The code-generation prompt for one problem description (the input of the generation task).</summary>
    public static string CodeGeneration(string problemDescription)
    {
        ArgumentNullException.ThrowIfNull(problemDescription);
        return CodeGenerationTable1.Replace(ProblemPlaceholder, problemDescription, StringComparison.Ordinal);
    }

    /// <summary>The prompt for <paramref name="task"/> applied to its input.</summary>
    public static string For(DpoKdTask task, string input) => task switch
    {
        DpoKdTask.CodeSummary => CodeSummary(input),
        DpoKdTask.CodeGeneration => CodeGeneration(input),
        _ => throw new ArgumentOutOfRangeException(nameof(task), task, "not a DPO-KD task"),
    };
}
