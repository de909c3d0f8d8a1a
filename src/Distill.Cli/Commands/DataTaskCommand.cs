using System.CommandLine;
using Distill.Data.BuiltInTask;
using Distill.Data.Jsonl;
using Distill.Evaluation.Code;
using Distill.Evaluation.Sandbox;

namespace Distill.Cli.Commands;

/// <summary>
/// `distill data task`: the built-in code task's problems as JSONL (TRL's prompt/completion plus
/// HumanEval's test fields), or with --verify every reference solution run against its own hidden
/// tests in the sandbox.
/// </summary>
sealed class DataTaskCommand : IVerb
{
    public string? Group => "data";

    public Command Build()
    {
        var view = new Option<string>("--view") { Description = "gen (docstring → code) or sum (code → description)", DefaultValueFactory = _ => "gen" };
        var shard = new Option<string>("--shard") { Description = "train, distill or test (disjoint in programs)", DefaultValueFactory = _ => "train" };
        var n = new Option<int?>("--n") { Description = "How many problems (default: the shard's default size: train 4000, distill 2000, test 500)" };
        var seed = new Option<ulong>("--seed") { Description = "Which problems are drawn (a problem's text never depends on it)" };
        var maxDifficulty = new Option<int>("--max-difficulty") { Description = "Largest number of steps, 1–3", DefaultValueFactory = _ => 3 };
        var output = new Option<string?>("--out") { Description = "Output JSONL (written atomically; '-' = stdout)" };
        var verify = new Option<bool>("--verify") { Description = "Run every reference solution against its hidden tests in the sandbox (all three shards unless --shard is given)" };
        var slots = new Option<int>("--slots") { Description = "Sandbox runs at once (--verify)", DefaultValueFactory = _ => Environment.ProcessorCount };
        var command = new Command("task", "The built-in code task: small Python problems generated from a seed.\n" +
            "Example: distill data task --view gen --shard train --n 2000 --seed 0 --out train.jsonl   |   distill data task --verify");
        foreach (var o in new Option[] { view, shard, n, seed, maxDifficulty, output, verify, slots }) command.Options.Add(o);
        command.SetAction(async (pr, ct) =>
        {
            if (pr.GetValue(verify))
            {
                var shards = pr.GetResult(shard) is { Implicit: false } ? [TaskGenerator.ParseShard(pr.GetValue(shard)!)] : Enum.GetValues<Shard>();
                int failed = 0;
                foreach (var s in shards)
                    failed += await Verify(s, pr.GetValue(n) ?? TaskGenerator.DefaultSizes[s], pr.GetValue(seed), pr.GetValue(maxDifficulty), pr.GetValue(slots), ct);
                return failed == 0 ? 0 : 1;
            }
            if (pr.GetValue(output) is not { } path) throw new BadInputException("give --out FILE (or --verify)");
            var v = TaskViews.Parse(pr.GetValue(view)!);
            var sh = TaskGenerator.ParseShard(pr.GetValue(shard)!);
            var problems = TaskGenerator.Generate(sh, pr.GetValue(n) ?? TaskGenerator.DefaultSizes[sh], pr.GetValue(seed), pr.GetValue(maxDifficulty));
            using (var w = new JsonlWriter(path))
            {
                foreach (var p in problems) w.Write(TaskViews.Record(p, v));
                w.Commit();
            }
            if (path != "-")
                Console.Error.WriteLine($"{problems.Count} {sh.ToString().ToLowerInvariant()} problems ({string.Join(", ", problems.GroupBy(p => p.Difficulty).OrderBy(g => g.Key).Select(g => $"difficulty {g.Key}: {g.Count()}"))}) → {path}");
            return 0;
        });
        return command;
    }

    static async Task<int> Verify(Shard shard, int n, ulong seed, int maxDifficulty, int slots, CancellationToken ct)
    {
        var tasks = TaskGenerator.Generate(shard, n, seed, maxDifficulty).Select(p => p.ToCodeTask()).ToList();
        var report = await CodeEvaluator.EvaluateAsync(tasks, CodeEvaluator.CanonicalSamples(tasks), new SandboxOptions { TimeoutSeconds = 20 }, slots, ct: ct);
        var failures = report.Tasks.Where(t => t.C < t.N).ToList();
        Console.WriteLine($"{shard.ToString().ToLowerInvariant()}: {report.Tasks.Count - failures.Count}/{report.Tasks.Count} reference solutions pass their hidden tests ({report.WallSeconds:F1} s, {report.ExecutionsPerSecond:F1}/s)");
        foreach (var t in failures.Take(20))
            Console.WriteLine($"  {t.TaskId}: {t.Samples[0].Result.StatusName} {t.Samples[0].Result.Error?.Split('\n')[0]}");
        return failures.Count;
    }
}
