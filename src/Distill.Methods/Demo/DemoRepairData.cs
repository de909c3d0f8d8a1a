using System.Globalization;
using System.Text.Json.Nodes;
using Distill.Chat.Clients;
using Distill.Evaluation.Sandbox;
using Distill.Methods.Persd;
using Distill.Methods.Runs;

namespace Distill.Methods.Demo;

/// <summary>
/// The demo's stand-in for an API teacher's ability to repair code. PERsD (Chen et al. 2023 §3) asks the teacher, for each
/// failed attempt, a two-turn conversation: the task and header ("CORRECT CODE:"), the gold program as its own answer, then
/// the wrong program and its execution feedback ("RECTIFIED CODE:"). GPT-4 can answer it; a teacher made from scratch on
/// the gen and sum views has never seen it and answers EOS at once. So the demo's teacher learns the skill in its
/// supervised half, from repair conversations on the train shard built exactly as PERsD builds them: the same
/// <see cref="PersdPrompts.TeacherRefinement"/> turns (gold = the task's reference, as persd.gold: reference sends it),
/// rendered as the served teacher renders them (its folder has no chat_template: <see cref="LocalModelChatClient.JoinedText"/>),
/// with a wrong program run in the sandbox for its real feedback (<see cref="PersonalizedDistillation.JudgeAsync(PersdItem, string, CodeExecutor, CancellationToken)"/>);
/// the completion is the reference body, the refinement PERsD keeps. Only train-shard problems: the teacher never sees a
/// distill- or test-shard reference in training.
/// Wrong programs, one per problem, chosen by a hash of (seed, task id): another train problem's reference body, an empty
/// body (the demo student's commonest failure, an IndentationError), or the reference with its last line returning None.
/// </summary>
public static class DemoRepairData
{
    public enum WrongKind { OtherProblem, Empty, ReturnsNone }

    /// <summary>Writes the first <see cref="DemoPreset.TeacherRepairProblems"/> train problems' repair records to <paramref name="output"/>; returns how many (a wrong program that passes is skipped).</summary>
    public static async Task<int> WriteAsync(DemoPreset p, int seed, string output, CancellationToken ct)
    {
        var items = PersdTasks.Load("builtin:train", PersdSplit.Train, "", p.TrainProblems, (ulong)seed, p.MaxDifficulty)
            .Take(p.TeacherRepairProblems).ToList();
        using var store = new PersdStore(Path.ChangeExtension(output, ".sqlite"));
        var executor = new CodeExecutor(new SandboxOptions { TimeoutSeconds = 5 }, store, slots: 2);
        var records = new JsonObject?[items.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, items.Count), new ParallelOptions { MaxDegreeOfParallelism = 2, CancellationToken = ct }, async (i, token) =>
            records[i] = await RecordAsync(items, i, seed, executor, token).ConfigureAwait(false)).ConfigureAwait(false);
        var kept = records.OfType<JsonObject>().ToList();
        RunDirectory.WriteAtomic(output, string.Concat(kept.Select(r => r.ToJsonString() + "\n")));
        return kept.Count;
    }

    /// <summary>The repair record of problem <paramref name="i"/>: null when its wrong program happens to pass.</summary>
    public static async Task<JsonObject?> RecordAsync(IReadOnlyList<PersdItem> items, int i, int seed, CodeExecutor executor, CancellationToken ct)
    {
        var task = items[i].Task;
        var reference = task.Reference ?? throw new ArgumentException($"{task.TaskId}: a repair example needs the task's reference program");
        ulong h = Convert.ToUInt64(PersdStore.Key("demo-repair", seed.ToString(CultureInfo.InvariantCulture), task.TaskId)[..16], 16);
        var kind = (WrongKind)(int)(h % 3);
        var wrong = Wrong(items, i, kind, h);
        var (status, feedback) = await PersonalizedDistillation.JudgeAsync(items[i], wrong, executor, ct).ConfigureAwait(false);
        if (status == "passed") return null;
        var conversation = PersdPrompts.TeacherRefinement(task, reference, PersdPrompts.Program(task, wrong), feedback!);
        return new JsonObject
        {
            ["prompt"] = LocalModelChatClient.JoinedText(conversation), ["completion"] = PersdPrompts.Body(task, reference),
            ["task_id"] = task.TaskId, ["wrong"] = kind.ToString(), ["status"] = status,
        };
    }

    /// <summary>The wrong body of a kind for problem i (h: its hash, which picks the other problem).</summary>
    public static string Wrong(IReadOnlyList<PersdItem> items, int i, WrongKind kind, ulong h)
    {
        var task = items[i].Task;
        switch (kind)
        {
            case WrongKind.OtherProblem when items.Count > 1:
                var other = items[(int)((ulong)i + 1 + (h >> 8) % (ulong)(items.Count - 1)) % items.Count].Task;
                return PersdPrompts.Body(other, other.Reference!);
            case WrongKind.ReturnsNone:
                var lines = PersdPrompts.Body(task, task.Reference!).TrimEnd('\n').Split('\n');
                var last = lines[^1];
                lines[^1] = last[..(last.Length - last.TrimStart().Length)] + "return None";
                return string.Join("\n", lines) + "\n";
            default:
                return "\n";
        }
    }
}
