using System.Text.Json.Nodes;
using Distill.Evaluation.Sandbox;
using Microsoft.Extensions.AI;

namespace Distill.Methods.Persd;

/// <summary>
/// The paper's baseline, standard distillation (StanD / SeqKD, Kim &amp; Rush 2016): the teacher answers
/// EVERY task (turn 1 of the teacher prompt: task and header, "CORRECT CODE:"), whatever the student can
/// already do; answers that pass the task's tests become training records (prompt = the task's prompt,
/// completion = the answer's body), as the authors kept ChatGPT gold only when it passed. With
/// <see cref="GoldSource.Teacher"/> these are the same (cached) calls PERsD's teacher answered turn 1 with.
/// </summary>
public static class SeqKdBaseline
{
    public sealed record Result(List<JsonObject> Records, int Tasks, int Answered, int Passed, int Failures);

    public static async Task<Result> RunAsync(IReadOnlyList<PersdItem> items, IChatClient teacher, CodeExecutor executor, PersdOptions options, CancellationToken ct = default)
    {
        var records = new JsonObject?[items.Count];
        int answered = 0, failures = 0;
        await Parallel.ForEachAsync(Enumerable.Range(0, items.Count), new ParallelOptions { MaxDegreeOfParallelism = options.Concurrency, CancellationToken = ct }, async (i, token) =>
        {
            var (task, hidden) = items[i];
            string answer;
            try
            {
                answer = (await teacher.GetResponseAsync([new ChatMessage(ChatRole.User, PersdPrompts.TeacherGoldPrompt(task))],
                    new ChatOptions { MaxOutputTokens = options.TeacherMaxTokens, Temperature = options.TeacherTemperature }, token).ConfigureAwait(false)).Text;
            }
            catch (Exception e) when (e is not OperationCanceledException) { Interlocked.Increment(ref failures); return; }
            Interlocked.Increment(ref answered);
            var body = PersdPrompts.Body(task, PersdPrompts.TeacherCode(answer));
            var program = PersdPrompts.Program(task, body);
            bool passes = (!task.HasVisibleTests || (await executor.RunAsync(task.VisibleJob(program), token).ConfigureAwait(false)).Status == SandboxStatus.Passed)
                && await hidden.PassesAsync(program, executor, token).ConfigureAwait(false);
            if (passes) records[i] = new JsonObject { ["prompt"] = task.Prompt, ["completion"] = body, ["task_id"] = task.TaskId, ["source"] = "seqkd" };
        }).ConfigureAwait(false);
        var kept = records.Where(r => r is not null).Select(r => r!).ToList();
        return new Result(kept, items.Count, answered, kept.Count, failures);
    }
}
