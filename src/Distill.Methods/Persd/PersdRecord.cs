using System.Text.Json.Nodes;

namespace Distill.Methods.Persd;

/// <summary>One teacher round on a failing program: the answer's body, how it fared, and its feedback when it failed.</summary>
public sealed record PersdRound(int Round, string Answer, string Refinement, bool Passed, string? Feedback);

/// <summary>
/// One student attempt and what became of it — a line of data/persd-attempts.jsonl. Only prompts,
/// visible-test feedback and code are here; a hidden test's text never is (its verdict is a bool).
/// </summary>
/// <param name="Attempt">The student's body (what it wrote after the header).</param>
/// <param name="AttemptStatus">passed | failed_visible | failed_hidden (failed tests no prompt shows).</param>
/// <param name="Feedback">The attempt's execution feedback (REFERENCE.md format); null when it passed.</param>
/// <param name="Refinement">The teacher's passing body, or null when no round passed (or the attempt passed).</param>
/// <param name="Gold">What the teacher was shown as its own correct code: "reference" or "teacher" ("none" in solve mode).</param>
/// <param name="TeacherError">Why the teacher could not be asked (after retries), or null.</param>
/// <param name="TeacherMode">What the teacher was asked (persd.teacher_mode): "repair" (the authors' conversation with the attempt and
/// its feedback) or "solve" (the task alone; <see cref="Refinement"/> is then the teacher's own passing solution, not a repair).</param>
public sealed record PersdRecord(
    string TaskId,
    int Sample,
    string Prompt,
    string Header,
    string Attempt,
    string AttemptStatus,
    string? Feedback,
    string? Refinement,
    IReadOnlyList<PersdRound> Rounds,
    string Gold,
    string? TeacherError = null,
    string TeacherMode = "repair")
{
    public bool Kept => Refinement is not null;

    public JsonObject ToJson() => new()
    {
        ["task_id"] = TaskId,
        ["sample"] = Sample,
        ["prompt"] = Prompt,
        ["header"] = Header,
        ["attempt"] = Attempt,
        ["attempt_status"] = AttemptStatus,
        ["feedback"] = Feedback,
        ["refinement"] = Refinement,
        ["refinement_passed"] = Refinement is not null,
        ["kept"] = Kept,
        ["rounds"] = new JsonArray(Rounds.Select(r => (JsonNode)new JsonObject
        {
            ["round"] = r.Round, ["answer"] = r.Answer, ["refinement"] = r.Refinement, ["passed"] = r.Passed, ["feedback"] = r.Feedback,
        }).ToArray()),
        ["gold"] = Gold,
        ["teacher_error"] = TeacherError,
        ["teacher_mode"] = TeacherMode,
    };

    public static PersdRecord FromJson(JsonObject o, string where)
    {
        string S(string k) => o[k] is JsonValue v && v.TryGetValue<string>(out var s) ? s : throw new FormatException($"{where}: field \"{k}\" missing or not a string");
        string? N(string k) => o[k] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
        var rounds = (o["rounds"] as JsonArray ?? throw new FormatException($"{where}: field \"rounds\" missing"))
            .Select(r => new PersdRound((int)r!["round"]!, (string)r["answer"]!, (string)r["refinement"]!, (bool)r["passed"]!, (string?)r["feedback"])).ToList();
        return new PersdRecord(S("task_id"), (int)o["sample"]!, S("prompt"), S("header"), S("attempt"), S("attempt_status"), N("feedback"), N("refinement"), rounds, S("gold"), N("teacher_error"), N("teacher_mode") ?? "repair");
    }
}
