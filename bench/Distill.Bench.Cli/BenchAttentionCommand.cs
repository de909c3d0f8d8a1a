using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using Distill.Bench;
using Distill.Cli;
using Distill.Tensors.Threading;

namespace Distill.Bench.Cli.Commands;

/// <summary>
/// `distill bench attention`: CausalAttention forward and forward + backward at sequence length T, full causal
/// and with each sliding window given, side by side (batch 1, 8 query heads, 2 kv heads, head dim 64: Mistral's
/// 4:1 grouping). Figures: docs/performance.md.
/// </summary>
sealed class BenchAttentionCommand : IVerb
{
    public string? Group => "bench";

    public Command Build()
    {
        var t = new Option<int>("--t") { Description = "Sequence length", DefaultValueFactory = _ => 2048 };
        var windows = new Option<int[]>("--window") { Description = "Sliding windows to compare with full attention (repeatable)", DefaultValueFactory = _ => [512, 128], AllowMultipleArgumentsPerToken = true };
        var threads = BenchOptions.Threads();
        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of lines" };
        var command = new Command("attention",
            "Measure causal attention with and without a sliding window.\nExample: distill bench attention --t 2048 --window 512 128 --json");
        foreach (var o in new Option[] { t, windows, threads, json }) command.Options.Add(o);
        command.SetAction(pr =>
        {
            int T = pr.GetValue(t), threadCount = pr.GetValue(threads);
            var ws = pr.GetValue(windows) ?? [];
            if (T < 1) throw new BadInputException($"--t must be at least 1, not {T}");
            if (threadCount < 1) throw new BadInputException($"--threads must be at least 1, not {threadCount}");
            if (ws.Any(w => w < 1)) throw new BadInputException($"--window values must be at least 1, not {string.Join(", ", ws)}");
            Workers.Count = threadCount;
            var results = new List<AttentionResult>();
            foreach (int w in ws.Prepend(0))
            {
                var r = AttentionBench.Measure(T, w);
                results.Add(r);
                Console.Error.WriteLine($"attention T={T} window={(w == 0 ? "none" : w.ToString())}: forward {r.ForwardMs:F1} ms, forward+backward {r.ForwardBackwardMs:F1} ms");
            }
            if (pr.GetValue(json))
                Console.WriteLine(new JsonObject
                {
                    ["machine"] = Machine.Describe(),
                    ["threads"] = threadCount,
                    ["attention"] = new JsonArray(results.Select(r => (JsonNode)new JsonObject
                    {
                        ["t"] = r.T, ["window"] = r.Window, ["heads"] = r.Heads, ["kv_heads"] = r.KvHeads, ["head_dim"] = r.HeadDim,
                        ["forward_ms"] = Math.Round(r.ForwardMs, 2), ["forward_backward_ms"] = Math.Round(r.ForwardBackwardMs, 2),
                    }).ToArray()),
                }.ToJsonString(new JsonSerializerOptions { WriteIndented = false }));
            else
                foreach (var r in results)
                    Console.WriteLine($"T {r.T}\twindow {(r.Window == 0 ? "none" : r.Window.ToString())}\tforward {r.ForwardMs:F1} ms\tforward+backward {r.ForwardBackwardMs:F1} ms");
            return 0;
        });
        return command;
    }
}
