using System.Text.Json.Nodes;
using Distill.Evaluation.Code;
using Distill.Evaluation.Sandbox;

namespace Distill.Methods.Persd;

/// <summary>
/// PERsD's multi-step inference (the authors' --refine --num-refine=2 in generate_code_for_humaneval.py):
/// the student samples n programs per task; a program that fails the task's VISIBLE tests (the docstring's
/// examples) goes back to the student with its execution feedback in the repair prompt
/// (ft_error_rectify_instruction), up to <c>rounds</c> times; a program that passes the visible tests is
/// kept as it is. Each round's programs are then scored on the HIDDEN tests only, and pass@1 is reported
/// per round (round 0 = no repair), as the authors report one score per "shot".
/// </summary>
public static class RepairInference
{
    public sealed record Sample(string TaskId, int Index, IReadOnlyList<string> Programs, IReadOnlyList<bool> HiddenPassed, IReadOnlyList<string?> Feedback);

    public sealed record Report(IReadOnlyList<Sample> Samples, IReadOnlyList<double> PassAt1ByRound, int Rounds)
    {
        public JsonObject ToJson() => new()
        {
            ["rounds"] = Rounds,
            ["pass@1_by_round"] = new JsonArray(PassAt1ByRound.Select(p => (JsonNode)Math.Round(p, 6)).ToArray()),
            ["tasks"] = Samples.Select(s => s.TaskId).Distinct().Count(),
            ["samples"] = Samples.Count,
        };
    }

    public static async Task<Report> RunAsync(IReadOnlyList<PersdItem> items, ICodeStudent student, CodeExecutor executor, int n, float temperature, int maxNewTokens,
        int rounds, ulong seed, IProgress<string>? progress = null, CancellationToken ct = default)
    {
        if (rounds < 0) throw new ArgumentException($"repair rounds must be ≥ 0, got {rounds}");
        var all = new List<Sample>();
        for (int t = 0; t < items.Count; t++)
        {
            var (task, hidden) = items[t];
            var first = await student.SampleAsync(task.Prompt, n, temperature, maxNewTokens, PersonalizedDistillation.TaskSeed(seed, task.TaskId), ct).ConfigureAwait(false);
            for (int s = 0; s < first.Count; s++)
            {
                var programs = new List<string> { PersdPrompts.Program(task, PersdPrompts.Body(task, first[s])) };
                var feedback = new List<string?>();
                for (int r = 1; r <= rounds; r++)
                {
                    var current = programs[^1];
                    string? fb = null;
                    if (task.HasVisibleTests)
                    {
                        var v = await executor.RunAsync(task.VisibleJob(current), ct).ConfigureAwait(false);
                        fb = ExecutionFeedback.Of(v, executor.Options.TimeoutSeconds);
                    }
                    feedback.Add(fb);
                    if (fb is null) { programs.Add(current); continue; } // passes what it can see (or sees nothing): kept
                    var repair = await student.SampleAsync(PersdPrompts.StudentRepairPrompt(task, current, fb), 1, temperature, maxNewTokens,
                        PersonalizedDistillation.TaskSeed(seed + (ulong)(1000 * r + s), task.TaskId), ct).ConfigureAwait(false);
                    programs.Add(PersdPrompts.Program(task, PersdPrompts.Body(task, repair[0])));
                }
                var passed = new List<bool>();
                foreach (var p in programs) passed.Add(await hidden.PassesAsync(p, executor, ct).ConfigureAwait(false));
                all.Add(new Sample(task.TaskId, s, programs, passed, feedback));
            }
            progress?.Report($"{t + 1}/{items.Count} tasks");
        }
        var byRound = Enumerable.Range(0, rounds + 1).Select(r =>
            PassAtK.Mean(all.GroupBy(s => s.TaskId).Select(g => (g.Count(), g.Count(s => s.HiddenPassed[r]))).ToList()).GetValueOrDefault(1)).ToList();
        return new Report(all, byRound, rounds);
    }
}
