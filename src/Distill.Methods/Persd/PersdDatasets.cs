using System.Text.Json.Nodes;

namespace Distill.Methods.Persd;

/// <summary>The paper's training variants (PersD, PersD-refine, PersD-combine), and the preference pairs beyond it.</summary>
public enum PersdVariant { Plain, Refine, Combined }

/// <summary>
/// Training sets from the loop's kept records, in TRL's columns (DESIGN.md §4) plus provenance:
/// plain — prompt = the task's prompt, completion = the refinement (the authors' "refinement as new gold");
/// refine — prompt = the repair prompt (task, the student's wrong program, its feedback; ft_error_rectify_instruction),
/// completion = the refinement; combined — both records for each kept attempt;
/// pairs — prompt = the task's prompt, chosen = the refinement, rejected = the student's attempt
/// (refinement ≻ attempt), for the DPO and PLaD losses.
/// </summary>
public static class PersdDatasets
{
    public static PersdVariant ParseVariant(string s) => s switch
    {
        "plain" => PersdVariant.Plain, "refine" => PersdVariant.Refine, "combined" => PersdVariant.Combined,
        _ => throw new ArgumentException($"unknown PERsD variant '{s}' (plain, refine or combined)"),
    };

    public static List<JsonObject> Sft(IEnumerable<PersdRecord> records, PersdVariant variant, IReadOnlyDictionary<string, PersdTask> tasks)
    {
        var list = new List<JsonObject>();
        foreach (var r in records.Where(r => r.Kept))
        {
            if (variant is PersdVariant.Plain or PersdVariant.Combined)
                list.Add(Record(r, r.Prompt, "plain"));
            if (variant is PersdVariant.Refine or PersdVariant.Combined)
            {
                var task = tasks.TryGetValue(r.TaskId, out var t) ? t : throw new ArgumentException($"record for unknown task {r.TaskId}");
                list.Add(Record(r, PersdPrompts.StudentRepairPrompt(task, PersdPrompts.Program(task, r.Attempt), r.Feedback!), "refine"));
            }
        }
        return list;
    }

    static JsonObject Record(PersdRecord r, string prompt, string kind) => new()
    {
        ["prompt"] = prompt, ["completion"] = r.Refinement, ["task_id"] = r.TaskId, ["sample"] = r.Sample, ["persd"] = kind,
    };

    /// <summary>Refinement ≻ attempt: a pair per kept record whose attempt differs from its refinement.</summary>
    public static List<JsonObject> Pairs(IEnumerable<PersdRecord> records) => records
        .Where(r => r.Kept && r.Refinement != r.Attempt)
        .Select(r => new JsonObject
        {
            ["prompt"] = r.Prompt, ["chosen"] = r.Refinement, ["rejected"] = r.Attempt,
            ["task_id"] = r.TaskId, ["sample"] = r.Sample, ["rejected_feedback"] = r.Feedback, ["source"] = "persd",
        }).ToList();
}
