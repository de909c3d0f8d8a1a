using System.CommandLine;
using Distill.Cli;
using Distill.Tensors.Threading;

namespace Distill.Bench.Cli.Commands;

/// <summary>
/// `distill bench decode-attention`: one decoding step's attention (all 30 layers) at `bench sample`'s shape, alone, at
/// several steps of the generation (the own keys grow by one per step). Figures: docs/performance.md, Session 15.
/// </summary>
sealed class BenchDecodeAttentionCommand : IVerb
{
    public string? Group => "bench";

    public Command Build()
    {
        var prompts = new Option<int>("--prompts") { Description = "Prompts (each shared by its samples)", DefaultValueFactory = _ => 64 };
        var samples = new Option<int>("--samples") { Description = "Samples per prompt", DefaultValueFactory = _ => 4 };
        var steps = new Option<int[]>("--step") { Description = $"Decoding steps to measure (own keys per row; repeatable, 0–{DecodeAttentionBench.MaxStep})", DefaultValueFactory = _ => [0, 64, DecodeAttentionBench.MaxStep], AllowMultipleArgumentsPerToken = true };
        var repeats = new Option<int>("--repeats") { Description = "Timed calls per step (median and best reported)", DefaultValueFactory = _ => 9 };
        var threads = BenchOptions.Threads();
        var command = new Command("decode-attention",
            "Measure the ragged decode attention of a sampling step (shared prompts + own keys).\nExample: distill bench decode-attention --step 0 64 127 --threads 2");
        foreach (var o in new Option[] { prompts, samples, steps, repeats, threads }) command.Options.Add(o);
        command.SetAction(pr =>
        {
            int p = pr.GetValue(prompts), n = pr.GetValue(samples), reps = pr.GetValue(repeats), threadCount = pr.GetValue(threads);
            var s = pr.GetValue(steps) ?? [];
            if (p < 1 || n < 1) throw new BadInputException($"--prompts and --samples must be at least 1, not {p} and {n}");
            if (reps < 1) throw new BadInputException($"--repeats must be at least 1, not {reps}");
            if (threadCount < 1) throw new BadInputException($"--threads must be at least 1, not {threadCount}");
            if (s.Length == 0 || s.Any(x => x < 0 || x > DecodeAttentionBench.MaxStep)) throw new BadInputException($"--step values must be in 0–{DecodeAttentionBench.MaxStep}, not {string.Join(", ", s)}");
            Workers.Count = threadCount;
            var c = DecodeAttentionBench.Shape;
            Console.WriteLine($"{p} prompts × {n} samples, {c.NumLayers} layers, {c.NumHeads} heads / {c.NumKvHeads} kv heads × {c.HeadDim}, {threadCount} threads");
            Console.WriteLine("step  median ms  best ms  GB read  GB/s");
            foreach (var r in DecodeAttentionBench.Measure(p, n, s, reps))
                Console.WriteLine($"{r.Step,4}  {r.MedianMs,9:F1}  {r.BestMs,7:F1}  {r.Bytes / 1e9,7:F2}  {r.GBps,4:F1}");
            return 0;
        });
        return command;
    }
}
