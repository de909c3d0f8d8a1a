using System.CommandLine;
using System.Diagnostics;
using System.Text.Json.Nodes;
using Distill.Cli;
using Distill.Tensors.Threading;

namespace Distill.Bench.Cli.Commands;

/// <summary>
/// `distill bench train`: the library trainer's step time on the SmolLM2-135M shape, LoRA r 8 on q,k,v,o
/// (<see cref="TrainerBench"/>): SFT and token-level KD on batch 4 × 256 tokens, and a DPO step on one 256 + 128 + 128
/// pair (the prompt shared unless --no-share-prompt); beside PyTorch doing the same work (bench/scripts/train_torch.py,
/// started as <see cref="TorchPeer"/> says, with torch.set_num_threads equal to --threads). Figures: docs/performance.md.
/// </summary>
sealed class BenchTrainCommand : IVerb
{
    public string? Group => "bench";

    public Command Build()
    {
        var json = new Option<bool>("--json") { Description = "Print one JSON object" };
        var threads = BenchOptions.Threads();
        var steps = new Option<int>("--steps") { Description = "Timed steps per objective and side (after --warmup)", DefaultValueFactory = _ => 3 };
        var warmup = new Option<int>("--warmup") { Description = "Untimed steps first", DefaultValueFactory = _ => 1 };
        var objectives = new Option<string>("--objectives") { Description = "Comma-separated: sft, token-kd, dpo", DefaultValueFactory = _ => "sft,token-kd,dpo" };
        var noTorch = new Option<bool>("--no-torch") { Description = "Skip the PyTorch reference (bench/scripts/train_torch.py)" };
        var noShare = new Option<bool>("--no-share-prompt") { Description = "DPO: run chosen and rejected as two rows, the prompt twice (TRL's concatenated_forward) instead of one row with the prompt shared" };
        var command = new Command("train", "Training-step speed of the library trainer (SmolLM2-135M shape, LoRA r 8 q,k,v,o): SFT and token-KD on batch 4 × 256,\n" +
            "DPO on a 256 + 128 + 128 pair, beside PyTorch doing the same work.\nExample: distill bench train --threads 2 --steps 3 --objectives sft,dpo");
        foreach (var o in new Option[] { json, threads, steps, warmup, objectives, noTorch, noShare }) command.Options.Add(o);
        command.SetAction(pr =>
        {
            if (pr.GetValue(steps) < 1 || pr.GetValue(warmup) < 0) throw new BadInputException("--steps ≥ 1 and --warmup ≥ 0 required");
            if (pr.GetValue(threads) < 1) throw new BadInputException($"--threads must be at least 1, not {pr.GetValue(threads)}");
            var names = pr.GetValue(objectives)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var unknown = names.Where(n => !TrainerBench.Objectives.Contains(n)).ToList();
            if (names.Length == 0 || unknown.Count > 0)
                throw new BadInputException($"--objectives: unknown '{string.Join(", ", unknown)}' (known: {string.Join(", ", TrainerBench.Objectives)})");
            bool torch = !pr.GetValue(noTorch);
            if (torch) TorchPeer.Require("train");
            Workers.Count = pr.GetValue(threads);
            var log = new Progress<string>(s => Console.Error.WriteLine(s));
            string loadBefore = LoadAverage();
            var results = TrainerBench.Measure(names, pr.GetValue(warmup), pr.GetValue(steps), log, sharePrompt: !pr.GetValue(noShare));
            var peak = FmaPeak.Measure();
            JsonNode? torchResult = torch ? RunTorch(names, Workers.Count, pr.GetValue(warmup), pr.GetValue(steps)) : null;
            string loadAfter = LoadAverage();
            var doc = new JsonObject
            {
                ["threads"] = Workers.Count, ["fma_peak_gflops"] = Math.Round(peak.Median, 1), ["lora_r"] = TrainerBench.LoraR, ["dpo_share_prompt"] = !pr.GetValue(noShare), ["load_before"] = loadBefore, ["load_after"] = loadAfter,
                ["distill"] = new JsonArray(results.Select(r => (JsonNode)new JsonObject
                {
                    ["objective"] = r.Objective, ["ms_per_step"] = Math.Round(r.MsPerStep, 1), ["tokens_per_s"] = Math.Round(r.TokensPerSecond, 1),
                    ["loss"] = r.LastLoss, ["timed_steps"] = r.TimedSteps, ["gemm_gflop"] = Math.Round(r.GemmGflop, 2),
                    ["floor_ms"] = peak.Median > 0 ? Math.Round(r.GemmGflop / peak.Median * 1000, 1) : null, ["step_ms"] = new JsonArray(r.StepMs.Select(x => (JsonNode)Math.Round(x, 1)).ToArray()),
                }).ToArray()),
                ["torch"] = torchResult,
            };
            if (pr.GetValue(json)) { Console.WriteLine(doc.ToJsonString()); return 0; }
            Console.WriteLine($"threads {Workers.Count}; load average before {loadBefore}, after {loadAfter}; PyTorch BLAS: {torchResult?["blas"]?.GetValue<string>() ?? "–"}");
            Console.WriteLine($"{"objective",-9} {"tokens",7} {"Distill ms/step",16} {"tok/s",8} {"PyTorch ms/step",16} {"tok/s",8} {"speed-up",9}");
            foreach (var r in results)
            {
                var (rows, seqLen, _) = TrainerBench.Shape(r.Objective);
                double? t = torchResult?[r.Objective]?["ms_per_step"]?.GetValue<double>();
                Console.WriteLine($"{r.Objective,-9} {rows + "×" + seqLen,7} {r.MsPerStep,16:F0} {r.TokensPerSecond,8:F0} {(t is null ? "–" : t.Value.ToString("F0")),16} " +
                    $"{(t is null ? "–" : (rows * seqLen / (t.Value / 1000)).ToString("F0")),8} {(t is null ? "–" : (t.Value / r.MsPerStep).ToString("F2") + "×"),9}");
            }
            PrintFloor(results, torchResult, peak.Median);
            return 0;
        });
        return command;
    }

    /// <summary>
    /// The arithmetic bound beside the goals: a step's counted products at the machine's FMA peak (<see cref="FmaPeak"/>,
    /// measured in this run) take at least floor ms whatever the code; PyTorch's step ÷ the goal is what the goal allows
    /// for the whole step. A floor near or above the allowance means the goal cannot be met in float32 on this machine.
    /// </summary>
    static void PrintFloor(IReadOnlyList<TrainerBench.Result> results, JsonNode? torchResult, double peak)
    {
        if (peak <= 0) return;
        Console.WriteLine($"float32 FMA peak, {Workers.Count} thread(s) (24 independent FMA chains, no memory): {peak:F0} GFLOPS");
        Console.WriteLine($"{"objective",-9} {"GEMM GFLOP",11} {"floor ms",9} {"Distill ms",11} {"floor share",12} {"goal",6} {"goal allows ms",15}");
        foreach (var r in results)
        {
            double floor = r.GemmGflop / peak * 1000, goal = TrainerBench.Goal(r.Objective);
            double? t = torchResult?[r.Objective]?["ms_per_step"]?.GetValue<double>();
            Console.WriteLine($"{r.Objective,-9} {r.GemmGflop,11:F1} {floor,9:F0} {r.MsPerStep,11:F0} {floor / r.MsPerStep,12:P0} {goal + "×",6} {(t is null ? "–" : (t.Value / goal).ToString("F0")),15}");
        }
    }

    static string LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "?";

    /// <summary>Runs train_torch.py as the strongest peer (<see cref="TorchPeer"/>); returns its JSON line (objective → figures).</summary>
    static JsonNode? RunTorch(string[] objectives, int threads, int warmup, int steps)
    {
        string script = Path.Combine(RepoRoot(), "bench", "scripts", "train_torch.py");
        var psi = TorchPeer.Python([script, "--threads", threads.ToString(), "--warmup", warmup.ToString(), "--steps", steps.ToString(), "--objectives", string.Join(",", objectives)]);
        Console.Error.WriteLine(TorchPeer.Describe(psi));
        using var p = Process.Start(psi)!;
        string? jsonLine = null;
        while (p.StandardOutput.ReadLine() is { } line)
        {
            if (line.StartsWith("JSON ", StringComparison.Ordinal)) jsonLine = line[5..];
            else Console.Error.WriteLine("torch: " + line);
        }
        p.WaitForExit();
        if (p.ExitCode != 0) { Console.Error.WriteLine($"distill bench train: train_torch.py exited {p.ExitCode}"); return null; }
        return jsonLine is null ? null : JsonNode.Parse(jsonLine);
    }

    static string RepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (Directory.Exists(Path.Combine(d.FullName, "bench", "scripts"))) return d.FullName;
        return Directory.GetCurrentDirectory();
    }
}
