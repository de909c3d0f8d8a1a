using System.Diagnostics;
using System.Text.Json.Nodes;
using Distill.Data.Benchmarks;
using Distill.Data.Jsonl;
using Distill.Evaluation.Sandbox;

namespace Distill.Evaluation.Code;

/// <summary>One sample to score: a task and the program to run (already extracted).</summary>
public sealed record CodeSample(string TaskId, string Program);

/// <summary>The verdict of one sample.</summary>
public sealed record SampleResult(string TaskId, int Index, SandboxResult Result)
{
    public bool Passed => Result.Status == SandboxStatus.Passed;
}

/// <summary>Per-task outcome: n samples, c passed, and their verdicts.</summary>
public sealed record TaskResult(string TaskId, int N, int C, IReadOnlyList<SampleResult> Samples);

/// <summary>A whole evaluation: per-task results, pass@k, throughput.</summary>
public sealed record CodeReport(
    IReadOnlyList<TaskResult> Tasks,
    IReadOnlyDictionary<int, double> PassAtK,
    IReadOnlyDictionary<string, int> StatusCounts,
    int Executions,
    double WallSeconds,
    int Slots)
{
    public double ExecutionsPerSecond => WallSeconds > 0 ? Executions / WallSeconds : 0;
}

/// <summary>
/// Scores code samples against a benchmark's tests in the sandbox, several at once (each running
/// sample is two children of the sandbox zygote: its candidate and its test runner), and computes pass@k.
/// </summary>
public static class CodeEvaluator
{
    /// <summary>The sandbox job for a program on a task (the same harness `distill sandbox run --tests` uses).</summary>
    public static TestJob Job(CodeTask task, string program) => task.Style == TestStyle.Check
        ? new TestJob(program, task.Prompt, task.Test, task.EntryPoint)
        : new TestJob(task.CandidateSetup.Length == 0 ? program : program + "\n" + task.CandidateSetup, task.TestSetup, task.Test, task.EntryPoint); // entry point: proxied even if it shadows a builtin

    /// <summary>Canonical solutions as samples: `--self-test` must score 100 %.</summary>
    public static List<CodeSample> CanonicalSamples(IEnumerable<CodeTask> tasks) => tasks.Select(t => new CodeSample(t.TaskId, t.CanonicalProgram)).ToList();

    /// <summary>
    /// Reads samples JSONL in either human-eval form: {task_id, completion} (extracted and, for
    /// HumanEval, appended to the prompt) or {task_id, solution} (a whole program, used as is).
    /// </summary>
    public static List<CodeSample> ReadSamples(string path, IReadOnlyDictionary<string, CodeTask> tasks)
    {
        var samples = new List<CodeSample>();
        foreach (var r in JsonlReader.Read(path))
        {
            var id = r.RequireString("task_id", path);
            if (!tasks.TryGetValue(id, out var task)) throw new JsonlFormatException(path, r.Line, $"task_id \"{id}\" is not in the benchmark");
            if (r.Json["solution"] is JsonValue s && s.TryGetValue<string>(out var solution)) samples.Add(new CodeSample(id, solution));
            else if (r.Json["completion"] is JsonValue c && c.TryGetValue<string>(out var completion)) samples.Add(new CodeSample(id, CodeExtraction.Program(task, completion)));
            else throw new JsonlFormatException(path, r.Line, "needs a string field \"completion\" or \"solution\"");
        }
        return samples;
    }

    public static async Task<CodeReport> EvaluateAsync(IReadOnlyList<CodeTask> tasks, IReadOnlyList<CodeSample> samples, SandboxOptions options,
        int slots, IProgress<SampleResult>? progress = null, CancellationToken ct = default)
    {
        if (slots < 1) throw new ArgumentOutOfRangeException(nameof(slots), "need at least one slot");
        var byId = tasks.ToDictionary(t => t.TaskId);
        foreach (var s in samples)
            if (!byId.ContainsKey(s.TaskId)) throw new ArgumentException($"sample for unknown task {s.TaskId}");
        var clock = Stopwatch.StartNew();
        var results = new SampleResult[samples.Count];
        int next = -1;
        async Task Worker()
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < samples.Count)
            {
                ct.ThrowIfCancellationRequested();
                var s = samples[i];
                var r = await TestHarness.RunAsync(Job(byId[s.TaskId], s.Program), options).ConfigureAwait(false);
                results[i] = new SampleResult(s.TaskId, i, r);
                progress?.Report(results[i]);
            }
        }
        await Task.WhenAll(Enumerable.Range(0, slots).Select(_ => Task.Run(Worker, ct))).ConfigureAwait(false);
        double wall = clock.Elapsed.TotalSeconds;
        var order = tasks.Select((t, i) => (t.TaskId, i)).ToDictionary(p => p.TaskId, p => p.i);
        var perTask = results.GroupBy(r => r.TaskId)
            .Select(g => new TaskResult(g.Key, g.Count(), g.Count(r => r.Passed), g.ToList()))
            .OrderBy(t => order[t.TaskId]).ToList();
        var counts = results.GroupBy(r => r.Result.StatusName).ToDictionary(g => g.Key, g => g.Count());
        return new CodeReport(perTask, PassAtK.Mean(perTask.Select(t => (t.N, t.C)).ToList()), counts, results.Length, wall, slots);
    }

    /// <summary>Per-task results as JSONL: {task_id, n, c, results: [{status, error, wall_s}]}.</summary>
    public static void WriteResults(CodeReport report, string path)
    {
        using var w = new JsonlWriter(path);
        foreach (var t in report.Tasks)
        {
            var arr = new JsonArray();
            foreach (var s in t.Samples)
                arr.Add(new JsonObject { ["status"] = s.Result.StatusName, ["error"] = s.Result.Error, ["wall_s"] = Math.Round(s.Result.WallSeconds, 4) });
            w.Write(new JsonObject { ["task_id"] = t.TaskId, ["n"] = t.N, ["c"] = t.C, ["passed"] = t.C == t.N, ["results"] = arr });
        }
        w.Commit();
    }
}
