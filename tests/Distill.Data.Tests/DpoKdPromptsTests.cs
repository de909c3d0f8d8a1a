using Distill.Data.Prompts;

namespace Distill.Data.Tests;

/// <summary>The DPO-KD paper's Table 1 task prompts.</summary>
public class DpoKdPromptsTests
{
    [Fact]
    public void CodeSummary_PutsTheCodeInThePapersQuotes()
    {
        const string code = "def add(a, b):\n    return a + b";
        Assert.Equal("Given the following Python code, provide a summary of its functionality: \"def add(a, b):\n    return a + b\"", DpoKdPrompts.CodeSummary(code));
        // Table 1 verbatim, stray closing apostrophe included; the rendered prompt drops only that.
        Assert.Equal(DpoKdPrompts.CodeSummaryTable1.Replace("PYTHON_CODE", code)[..^1], DpoKdPrompts.CodeSummary(code));
    }

    [Fact]
    public void CodeGeneration_KeepsTheSentencesAfterTheProblem()
    {
        var p = DpoKdPrompts.CodeGeneration("Reverse the nodes of a linked list k at a time.");
        Assert.Equal("Write a Python function that solves the following problem: \"Reverse the nodes of a linked list k at a time.\" " +
                     "Your function should take appropriate input (if any) and return the expected output. " +
                     "Feel free to provide any additional context or constraints necessary for solving the problem.", p);
        Assert.Equal(p, DpoKdPrompts.For(DpoKdTask.CodeGeneration, "Reverse the nodes of a linked list k at a time."));
    }

    [Fact]
    public void AnInputThatContainsAPlaceholder_IsCopiedVerbatim()
    {
        Assert.EndsWith("\"print('PROBLEM DESCRIPTION', 'PYTHON_CODE')\"", DpoKdPrompts.CodeSummary("print('PROBLEM DESCRIPTION', 'PYTHON_CODE')"));
        Assert.Contains("problem: \"PYTHON_CODE\" Your", DpoKdPrompts.CodeGeneration("PYTHON_CODE"));
    }
}
