using Distill.Evaluation.Sandbox;
using Microsoft.Extensions.AI;

namespace Distill.Methods.Persd;

/// <summary>Where the teacher's "CORRECT CODE" turn comes from.</summary>
public enum GoldSource
{
    /// <summary>The task's reference program (the authors' default, data_i['gold']); tasks without one ask the teacher.</summary>
    Reference,
    /// <summary>The teacher answers turn 1 first (the authors' --get-openai-gold); the same cached call is SeqKD's answer.</summary>
    Teacher,
}

/// <summary>What the teacher is asked about a failed attempt (recipe: persd.teacher_mode).</summary>
public enum TeacherMode
{
    /// <summary>The authors' repair conversation: task and header, the gold program, the student's program and its feedback, "RECTIFIED CODE:".</summary>
    Repair,
    /// <summary>
    /// The failed task alone, in the student's prompt format (<see cref="PersdPrompts.TeacherSolvePrompt"/>): no attempt, no
    /// feedback, no gold. For a teacher that cannot read the repair conversation (`distill demo`'s, trained from scratch on the
    /// task's own prompts): PERsD's choice of tasks (the student's failures) and its test filter stay; the refinement
    /// conditioned on the attempt does not. Asked once per task, whatever the number of failed samples.
    /// </summary>
    Solve,
}

/// <summary>Settings of the data loop (defaults: the authors' run — one sample at temperature 0.3, one teacher round).</summary>
public sealed record PersdOptions
{
    public int Samples { get; init; } = 1;
    public float Temperature { get; init; } = 0.3f;
    public int MaxNewTokens { get; init; } = 256;
    public ulong Seed { get; init; }
    /// <summary>Teacher rounds per failing attempt: round r+1 repairs round r's failing refinement with its feedback.</summary>
    public int Rounds { get; init; } = 1;
    public int TeacherMaxTokens { get; init; } = 512;
    public float TeacherTemperature { get; init; }
    /// <summary>Tasks worked on at once (teacher calls and executions in flight).</summary>
    public int Concurrency { get; init; } = 4;
    public GoldSource Gold { get; init; } = GoldSource.Reference;
    public TeacherMode Mode { get; init; } = TeacherMode.Repair;

    public PersdOptions Validate()
    {
        if (Mode == TeacherMode.Solve && Rounds != 1)
            throw new ArgumentException($"rounds must be 1 with teacher mode solve (the teacher gets the task alone, so a second round would ask the same question), got {Rounds}");
        if (Samples < 1) throw new ArgumentException($"samples must be ≥ 1, got {Samples}");
        if (Rounds < 1) throw new ArgumentException($"rounds must be ≥ 1, got {Rounds}");
        if (Temperature < 0 || TeacherTemperature < 0) throw new ArgumentException("temperatures must be ≥ 0");
        if (MaxNewTokens < 1 || TeacherMaxTokens < 1) throw new ArgumentException("max tokens must be ≥ 1");
        if (Concurrency < 1) throw new ArgumentException($"concurrency must be ≥ 1, got {Concurrency}");
        return this;
    }
}

/// <summary>Counts of one loop: what was attempted, kept, and what it cost in executions and calls.</summary>
public sealed record PersdSummary(int Tasks, int Attempts, int Passed, int Failed, int Kept, int TeacherFailures, long TeacherCalls,
    long Executions, long ExecutionCacheHits, double SandboxSeconds, long StudentGenerations, long StudentCacheHits);

/// <summary>
/// PERsD's data loop (Chen et al. 2023, §3; the authors' generate_code_for_* --get-openai-feedback and
/// create_*_finetuning_data scripts): the student attempts every task; attempts that pass are skipped;
/// for each failure the teacher gets the task, its own correct code, the student's program and the
/// execution feedback, and writes a refinement; the refinement is re-tested and kept only if it passes.
/// With <see cref="TeacherMode.Solve"/> the teacher gets the failed task alone and its answer is tested and kept the same way.
/// An attempt passes when it passes the visible tests and the hidden ones (training tasks); feedback
/// comes from the visible tests only — when only hidden tests fail it is the bare "AssertionError"
/// (the authors' text when no details are known), so no hidden input or expected value reaches a prompt.
/// Every step goes through a cache (student samples and sandbox verdicts: <see cref="PersdStore"/>; the
/// teacher: the response cache the caller composes into <c>teacher</c>), so running it again — after a
/// crash or kill — repeats no generation, execution or teacher call.
/// </summary>
public sealed class PersonalizedDistillation(ICodeStudent student, IChatClient teacher, CodeExecutor executor, PersdOptions options)
{
    long _teacherCalls;

    public async Task<(List<PersdRecord> Records, PersdSummary Summary)> RunAsync(IReadOnlyList<PersdItem> items, IProgress<string>? progress = null, CancellationToken ct = default)
    {
        options.Validate();
        var perTask = new List<PersdRecord>[items.Count];
        int done = 0;
        await Parallel.ForEachAsync(Enumerable.Range(0, items.Count), new ParallelOptions { MaxDegreeOfParallelism = options.Concurrency, CancellationToken = ct },
            async (i, token) =>
            {
                perTask[i] = await TaskAsync(items[i], token).ConfigureAwait(false);
                int d = Interlocked.Increment(ref done);
                progress?.Report($"{d}/{items.Count} tasks");
            }).ConfigureAwait(false);
        var records = perTask.SelectMany(r => r).ToList();
        var cached = student as CachedCodeStudent;
        var summary = new PersdSummary(items.Count, records.Count, records.Count(r => r.AttemptStatus == "passed"), records.Count(r => r.AttemptStatus != "passed"),
            records.Count(r => r.Kept), records.Count(r => r.TeacherError is not null), Interlocked.Read(ref _teacherCalls),
            executor.Runs, executor.CacheHits, executor.SandboxSeconds, cached?.Calls ?? -1, cached?.CacheHits ?? -1);
        return (records, summary);
    }

    /// <summary>A seed per task from the run's seed and the task id, so the order tasks run in changes nothing.</summary>
    public static ulong TaskSeed(ulong seed, string taskId) => seed ^ Convert.ToUInt64(PersdStore.Key("seed", taskId)[..16], 16);

    async Task<List<PersdRecord>> TaskAsync(PersdItem item, CancellationToken ct)
    {
        var task = item.Task;
        var samples = await student.SampleAsync(task.Prompt, options.Samples, options.Temperature, options.MaxNewTokens, TaskSeed(options.Seed, task.TaskId), ct).ConfigureAwait(false);
        var records = new List<PersdRecord>();
        string? gold = null;
        PersdRound? solved = null; // solve mode: the teacher's answer to the task, asked once whatever the number of failed samples
        for (int s = 0; s < samples.Count; s++)
        {
            var attempt = PersdPrompts.Body(task, samples[s]);
            var (status, feedback) = await JudgeAsync(item, attempt, ct).ConfigureAwait(false);
            var goldKind = options.Mode == TeacherMode.Solve ? "none" : options.Gold == GoldSource.Reference && task.Reference is not null ? "reference" : "teacher";
            var mode = options.Mode == TeacherMode.Solve ? "solve" : "repair";
            if (status == "passed")
            {
                records.Add(new PersdRecord(task.TaskId, s, task.Prompt, task.Header, attempt, status, null, null, [], goldKind, TeacherMode: mode));
                continue;
            }
            if (options.Mode == TeacherMode.Solve)
            {
                string? solveError = null;
                try
                {
                    if (solved is null)
                    {
                        var answer = await AskAsync([new ChatMessage(ChatRole.User, PersdPrompts.TeacherSolvePrompt(task))], ct).ConfigureAwait(false);
                        var body = PersdPrompts.Body(task, PersdPrompts.SolveCode(task, answer));
                        var (ss, sf) = await JudgeAsync(item, body, ct).ConfigureAwait(false);
                        solved = new PersdRound(1, answer, body, ss == "passed", sf);
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException and not InvalidOperationException)
                {
                    solveError = e.GetType().Name + ": " + e.Message.Split('\n')[0];
                }
                records.Add(new PersdRecord(task.TaskId, s, task.Prompt, task.Header, attempt, status, feedback, solved is { Passed: true } ? solved.Refinement : null,
                    solved is null ? [] : [solved], goldKind, solveError, mode));
                continue;
            }
            var rounds = new List<PersdRound>();
            string? refinement = null, error = null;
            try
            {
                gold ??= goldKind == "reference" ? task.Reference! : await AskAsync([new ChatMessage(ChatRole.User, PersdPrompts.TeacherGoldPrompt(task))], ct).ConfigureAwait(false);
                string current = PersdPrompts.Program(task, attempt), currentFeedback = feedback!;
                for (int r = 1; r <= options.Rounds; r++)
                {
                    var answer = await AskAsync(PersdPrompts.TeacherRefinement(task, gold, current, currentFeedback), ct).ConfigureAwait(false);
                    var body = PersdPrompts.Body(task, PersdPrompts.TeacherCode(answer));
                    var (rs, rf) = await JudgeAsync(item, body, ct).ConfigureAwait(false);
                    rounds.Add(new PersdRound(r, answer, body, rs == "passed", rf));
                    if (rs == "passed") { refinement = body; break; }
                    (current, currentFeedback) = (PersdPrompts.Program(task, body), rf!);
                }
            }
            catch (Exception e) when (e is not OperationCanceledException and not InvalidOperationException)
            {
                error = e.GetType().Name + ": " + e.Message.Split('\n')[0];
            }
            records.Add(new PersdRecord(task.TaskId, s, task.Prompt, task.Header, attempt, status, feedback, refinement, rounds, goldKind, error, mode));
        }
        return records;
    }

    async Task<string> AskAsync(List<ChatMessage> messages, CancellationToken ct)
    {
        Interlocked.Increment(ref _teacherCalls);
        var response = await teacher.GetResponseAsync(messages, new ChatOptions { MaxOutputTokens = options.TeacherMaxTokens, Temperature = options.TeacherTemperature }, ct).ConfigureAwait(false);
        return response.Text;
    }

    /// <summary>
    /// passed | failed_visible | failed_hidden, and the feedback: from the visible run, or the bare
    /// "AssertionError" when only the hidden tests fail (their text never leaves <see cref="HiddenTests"/>).
    /// </summary>
    Task<(string Status, string? Feedback)> JudgeAsync(PersdItem item, string body, CancellationToken ct) => JudgeAsync(item, body, executor, ct);

    /// <inheritdoc cref="JudgeAsync(PersdItem, string, CancellationToken)"/>
    public static async Task<(string Status, string? Feedback)> JudgeAsync(PersdItem item, string body, CodeExecutor executor, CancellationToken ct)
    {
        var program = PersdPrompts.Program(item.Task, body);
        if (item.Task.HasVisibleTests)
        {
            var visible = await executor.RunAsync(item.Task.VisibleJob(program), ct).ConfigureAwait(false);
            if (visible.Status != SandboxStatus.Passed) return ("failed_visible", ExecutionFeedback.Of(visible, executor.Options.TimeoutSeconds));
        }
        return await item.Hidden.PassesAsync(program, executor, ct).ConfigureAwait(false) ? ("passed", null) : ("failed_hidden", "AssertionError");
    }
}
