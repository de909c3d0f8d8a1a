using System.Text.Json.Nodes;

namespace Distill.Data.BuiltInTask;

/// <summary>The two views of a problem, as in DPO-KD (Table 1): write the code, or summarize it.</summary>
public enum TaskView { Gen, Sum }

/// <summary>
/// Records in TRL's prompt-completion columns plus HumanEval's test fields (DESIGN.md §4), so the
/// same file trains (prompt, completion) and evaluates (task_id, entry_point, test,
/// canonical_solution) through `distill eval code`.
/// </summary>
public static class TaskViews
{
    /// <summary>DPO-KD's code-summary prompt (Table 1).</summary>
    public const string SummaryInstruction = "Given the following Python code, provide a summary of its functionality:";

    public static TaskView Parse(string text) => text.ToLowerInvariant() switch
    {
        "gen" => TaskView.Gen, "sum" => TaskView.Sum,
        _ => throw new ArgumentException($"unknown view '{text}' (gen or sum)"),
    };

    /// <summary>
    /// gen: prompt = signature + docstring (HumanEval style), completion = the reference body.
    /// sum: prompt = the instruction + the code without its docstring, completion = the description.
    /// </summary>
    public static JsonObject Record(Problem p, TaskView view) => new()
    {
        ["prompt"] = view == TaskView.Gen ? p.Prompt : $"{SummaryInstruction}\n\n{p.Code}",
        ["completion"] = view == TaskView.Gen ? p.CanonicalSolution : p.Description,
        ["task_id"] = p.TaskId,
        ["entry_point"] = p.EntryPoint,
        ["test"] = p.Test,
        ["canonical_solution"] = p.CanonicalSolution,
        ["code_prompt"] = p.Prompt,
        ["difficulty"] = p.Difficulty,
        ["composition"] = p.Composition,
        ["shard"] = p.Shard.ToString().ToLowerInvariant(),
    };
}
