using System.CommandLine;
using System.Diagnostics;
using System.Text.Json.Nodes;
using Distill.Cli;
using Distill.Tensors.Threading;

namespace Distill.Bench.Cli.Commands;

/// <summary>
/// `distill bench train`: the library trainer's step time on the SmolLM2-135M shape, LoRA r 8 on q,k,v,o, batch 4 ×
/// 256 tokens, for SFT and token-level KD (<see cref="TrainerBench"/>), optionally beside PyTorch doing the same work
/// (bench/scripts/train_torch.py through Debian's /usr/bin/python3, with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset
/// for that process only, so OpenBLAS picks its own kernels). Figures: docs/performance.md.
/// </summary>
sealed class BenchTrainCommand : IVerb
{
    public string? Group => "bench";

    public Command Build()
    {
        var json = new Option<bool>("--json") { Description = "Print one JSON object" };
        var threads = BenchOptions.Threads();
        var steps = new Option<int>("--steps") { Description = "Timed steps per objective (after --warmup)", DefaultValueFactory = _ => 3 };
        var warmup = new Option<int>("--warmup") { Description = "Untimed steps first", DefaultValueFactory = _ => 1 };
        var objectives = new Option<string>("--objectives") { Description = "sft, token-kd or both (comma-separated)", DefaultValueFactory = _ => "sft,token-kd" };
        var torch = new Option<bool>("--torch") { Description = "Also run the PyTorch reference (bench/scripts/train_torch.py, /usr/bin/python3 with python3-torch)" };
        var command = new Command("train", "Training-step speed of the library trainer (SmolLM2-135M shape, LoRA r 8 q,k,v,o, batch 4 × 256) for SFT and token-KD.\n" +
            "Example: distill bench train --threads 2 --steps 3 --torch");
        foreach (var o in new Option[] { json, threads, steps, warmup, objectives, torch }) command.Options.Add(o);
        command.SetAction(pr =>
        {
            if (pr.GetValue(steps) < 1 || pr.GetValue(warmup) < 0) throw new BadInputException("--steps ≥ 1 and --warmup ≥ 0 required");
            Workers.Count = pr.GetValue(threads);
            var names = pr.GetValue(objectives)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var log = new Progress<string>(s => Console.Error.WriteLine(s));
            IReadOnlyList<TrainerBench.Result> results;
            try { results = TrainerBench.Measure(names, pr.GetValue(warmup), pr.GetValue(steps), log); }
            catch (ArgumentException e) { throw new BadInputException(e.Message); }
            JsonNode? torchResult = pr.GetValue(torch) ? RunTorch(names, pr.GetValue(threads), pr.GetValue(warmup), pr.GetValue(steps)) : null;
            var doc = new JsonObject
            {
                ["threads"] = Workers.Count, ["batch"] = TrainerBench.Batch, ["seq_len"] = TrainerBench.SeqLen, ["lora_r"] = TrainerBench.LoraR,
                ["distill"] = new JsonArray(results.Select(r => (JsonNode)new JsonObject
                {
                    ["objective"] = r.Objective, ["ms_per_step"] = Math.Round(r.MsPerStep, 1), ["tokens_per_s"] = Math.Round(r.TokensPerSecond, 1),
                    ["loss"] = r.LastLoss, ["timed_steps"] = r.TimedSteps,
                }).ToArray()),
                ["torch"] = torchResult,
            };
            if (pr.GetValue(json)) { Console.WriteLine(doc.ToJsonString()); return 0; }
            Console.WriteLine($"{"objective",-10} {"Distill ms/step",16} {"tok/s",8} {"PyTorch ms/step",16} {"tok/s",8} {"speed-up",9}");
            foreach (var r in results)
            {
                double? t = torchResult?[r.Objective]?["ms_per_step"]?.GetValue<double>();
                Console.WriteLine($"{r.Objective,-10} {r.MsPerStep,16:F0} {r.TokensPerSecond,8:F0} {(t is null ? "–" : t.Value.ToString("F0")),16} " +
                    $"{(t is null ? "–" : (TrainerBench.Batch * TrainerBench.SeqLen / (t.Value / 1000)).ToString("F0")),8} {(t is null ? "–" : (t.Value / r.MsPerStep).ToString("F2") + "×"),9}");
            }
            return 0;
        });
        return command;
    }

    /// <summary>Runs train_torch.py with OpenBLAS left to choose its kernels; returns its JSON line (objective → figures).</summary>
    static JsonNode? RunTorch(string[] objectives, int threads, int warmup, int steps)
    {
        string script = Path.Combine(RepoRoot(), "bench", "scripts", "train_torch.py");
        var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in new[] { script, "--threads", threads.ToString(), "--warmup", warmup.ToString(), "--steps", steps.ToString(), "--objectives", string.Join(",", objectives) })
            psi.ArgumentList.Add(a);
        psi.Environment.Remove("OPENBLAS_CORETYPE");
        psi.Environment.Remove("OPENBLAS_L2_SIZE");
        psi.Environment["LD_LIBRARY_PATH"] = "/usr/lib/x86_64-linux-gnu/openblas-openmp";
        using var p = Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) { Console.Error.WriteLine($"distill bench train: train_torch.py exited {p.ExitCode}"); return null; }
        var line = output.Split('\n').LastOrDefault(l => l.StartsWith("JSON ", StringComparison.Ordinal));
        return line is null ? null : JsonNode.Parse(line[5..]);
    }

    static string RepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (Directory.Exists(Path.Combine(d.FullName, "bench", "scripts"))) return d.FullName;
        return Directory.GetCurrentDirectory();
    }
}
