using System.CommandLine;
using System.Text.Json.Nodes;
using Distill.Data;
using Distill.Data.Benchmarks;
using Distill.Evaluation.Code;
using Distill.Evaluation.Sandbox;
using Spectre.Console;

namespace Distill.Cli.Commands;

/// <summary>`distill eval code`: pass@k of samples (or of the canonical solutions) in the sandbox.</summary>
sealed class EvalCodeCommand : IVerb
{
    public string? Group => "eval";

    public Command Build()
    {
        var bench = new Option<string>("--bench") { Description = $"Benchmark: {string.Join(", ", BenchmarkLoader.Names)}" };
        var selfTest = new Option<string?>("--self-test") { Description = "Score the canonical solutions of BENCH (must be 100 %)" };
        var samples = new Option<string?>("--samples") { Description = "Samples JSONL: {task_id, completion} or {task_id, solution}" };
        var data = new Option<string?>("--data") { Description = "Benchmarks folder (default: <repo>/data/benchmarks)" };
        var output = new Option<string?>("--out") { Description = "Write per-task results JSONL here and the summary to OUT.summary.json" };
        var slots = new Option<int>("--slots") { Description = "Samples run at once", DefaultValueFactory = _ => Environment.ProcessorCount };
        var timeout = new Option<double?>("--timeout") { Description = "Wall-clock limit per sample, seconds (default 20; humanevalplus 60, EvalPlus's per-task limit: up to 1,000 inputs a task)" };
        var memory = new Option<int>("--memory-mb") { Description = "Address-space limit in MiB", DefaultValueFactory = _ => 1024 };
        var limit = new Option<int>("--limit") { Description = "Only the first N tasks (0 = all)" };
        var json = new Option<bool>("--json") { Description = "Print the summary as JSON" };
        var isolation = IsolationOption.Create();
        var command = new Command("code", "pass@k (k = 1, 10, 100 where n allows) of code samples run in the sandbox.\n" +
            "Example: distill eval code --self-test humaneval   |   distill eval code --bench mbpp-sanitized --samples s.jsonl --out r.jsonl");
        foreach (var o in new Option[] { bench, selfTest, samples, data, output, slots, timeout, memory, limit, isolation, json }) command.Options.Add(o);
        command.SetAction(async (pr, ct) =>
        {
            var name = pr.GetValue(selfTest) ?? pr.GetValue(bench);
            if (name is null) throw new BadInputException("give --self-test BENCH or --bench BENCH --samples FILE");
            var dir = pr.GetValue(data) ?? EvalPaths.DefaultBenchmarks();
            if (dir is null) throw new BadInputException("the repository's data/benchmarks was not found; pass --data DIR");
            var options = new SandboxOptions { TimeoutSeconds = pr.GetValue(timeout) ?? (name == "humanevalplus" ? 60 : 20), MemoryMb = pr.GetValue(memory), Isolation = pr.GetValue(isolation) };
            options.Validate();
            // Which isolation runs (or why none can): before any work, so a missing bubblewrap is one clear line.
            string sandbox = SandboxLauncher.Describe(options);
            IReadOnlyList<CodeTask> tasks = BenchmarkLoader.Load(name, dir);
            if (pr.GetValue(limit) > 0) tasks = tasks.Take(pr.GetValue(limit)).ToList();
            List<CodeSample> list = pr.GetValue(selfTest) is not null ? CodeEvaluator.CanonicalSamples(tasks)
                : pr.GetValue(samples) is { } path ? CodeEvaluator.ReadSamples(path, tasks.ToDictionary(t => t.TaskId))
                : throw new BadInputException("--bench needs --samples FILE");
            int done = 0;
            var progress = new Progress<SampleResult>(_ => { if (Interlocked.Increment(ref done) % 50 == 0) Console.Error.WriteLine($"  {done}/{list.Count}"); });
            var report = await CodeEvaluator.EvaluateAsync(tasks, list, options, pr.GetValue(slots), progress, ct);
            var summary = Summary(name, report, sandbox);
            if (pr.GetValue(output) is { } outPath)
            {
                CodeEvaluator.WriteResults(report, outPath);
                AtomicFile.WriteAllText(outPath + ".summary.json", summary.ToJsonString(new() { WriteIndented = true }));
            }
            if (pr.GetValue(json)) { Console.WriteLine(summary.ToJsonString()); return 0; }
            var table = new Table().AddColumn("metric").AddColumn(new TableColumn("value").RightAligned());
            table.AddRow("benchmark", Markup.Escape(name));
            table.AddRow("tasks", report.Tasks.Count.ToString());
            table.AddRow("executions", report.Executions.ToString());
            foreach (var (k, v) in report.PassAtK) table.AddRow($"pass@{k}", $"{100 * v:F2} %");
            foreach (var (s, c) in report.StatusCounts.OrderBy(p => p.Key)) table.AddRow(Markup.Escape(s), c.ToString());
            table.AddRow("wall", $"{report.WallSeconds:F1} s ({report.Slots} slots)");
            table.AddRow("executions/s", $"{report.ExecutionsPerSecond:F1}");
            table.AddRow("isolation", Markup.Escape(sandbox));
            AnsiConsole.Write(table);
            foreach (var t in report.Tasks.Where(t => t.C < t.N).Take(10))
            {
                var first = t.Samples.First(s => !s.Passed).Result;
                Console.Error.WriteLine($"{t.TaskId}: {first.StatusName} {first.Error?.Split('\n')[0]}");
            }
            return 0;
        });
        return command;
    }

    internal static JsonObject Summary(string bench, CodeReport r, string? isolation = null)
    {
        var pass = new JsonObject();
        foreach (var (k, v) in r.PassAtK) pass[$"pass@{k}"] = v;
        var counts = new JsonObject();
        foreach (var (s, c) in r.StatusCounts) counts[s] = c;
        return new JsonObject
        {
            ["benchmark"] = bench, ["tasks"] = r.Tasks.Count, ["executions"] = r.Executions, ["pass_at_k"] = pass,
            ["status_counts"] = counts, ["wall_s"] = Math.Round(r.WallSeconds, 3), ["slots"] = r.Slots,
            ["executions_per_s"] = Math.Round(r.ExecutionsPerSecond, 2), ["isolation"] = isolation,
        };
    }
}
