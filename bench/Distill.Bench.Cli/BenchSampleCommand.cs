using System.CommandLine;
using System.Diagnostics;
using System.Text.Json.Nodes;
using Distill.Cli;
using Distill.Models;
using Distill.Tensors.Threading;

namespace Distill.Bench.Cli.Commands;

/// <summary>
/// `distill bench sample`: batched sampling speed of the library (<see cref="SampleBench"/>), 64 prompts × 4 samples
/// × 128 new tokens by default, optionally beside PyTorch eager with a KV cache doing the same work on the same
/// weights (bench/scripts/sample_torch.py, started as <see cref="TorchPeer"/> says). Figures: docs/performance.md.
/// </summary>
sealed class BenchSampleCommand : IVerb
{
    public string? Group => "bench";

    public Command Build()
    {
        var json = new Option<bool>("--json") { Description = "Print one JSON object" };
        var threads = new Option<int>("--threads") { Description = "Worker threads (also PyTorch's)", DefaultValueFactory = _ => 2 };
        var prompts = new Option<int>("--prompts") { Description = "Prompts (lengths 64–128, fixed mix)", DefaultValueFactory = _ => 64 };
        var samples = new Option<int>("--samples") { Description = "Samples per prompt", DefaultValueFactory = _ => 4 };
        var newTokens = new Option<int>("--new-tokens") { Description = "New tokens per sample (no EOS: all are generated)", DefaultValueFactory = _ => 128 };
        var torch = new Option<bool>("--torch") { Description = "Also run the PyTorch reference (bench/scripts/sample_torch.py, /usr/bin/python3 with python3-torch)" };
        var check = new Option<int>("--check") { Description = "Greedy tokens of prompt 0 compared between the two sides (same weights)", DefaultValueFactory = _ => 8 };
        var weights = new Option<string>("--weights") { Description = "Distill's inference weights: f32packed (float32 packed once into GEMM panels, the default) or f32 (the training GEMM); both the same f32 work as PyTorch's", DefaultValueFactory = _ => "f32packed" };
        var command = new Command("sample", "Batched sampling speed of the student (SmolLM2-135M shape, LoRA r 8 q,k,v,o, random weights): tokens/s and ms per decode step.\n" +
            "Example: distill bench sample --threads 2 --torch   (quick: --prompts 8 --samples 2 --new-tokens 16)");
        foreach (var o in new Option[] { json, threads, prompts, samples, newTokens, torch, check, weights }) command.Options.Add(o);
        command.SetAction(pr =>
        {
            int p = pr.GetValue(prompts), n = pr.GetValue(samples), k = pr.GetValue(newTokens), c = pr.GetValue(check);
            if (p < 1 || n < 1 || k < 1 || c < 0 || pr.GetValue(threads) < 1) throw new BadInputException("--prompts, --samples, --new-tokens and --threads must be ≥ 1, --check ≥ 0");
            Workers.Count = pr.GetValue(threads);
            var log = new Progress<string>(s => Console.Error.WriteLine(s));
            if (pr.GetValue(torch)) TorchPeer.Require("sample");
            var w = InferenceWeightsNames.Parse(pr.GetValue(weights) ?? "f32packed");
            if (w is not (InferenceWeights.F32 or InferenceWeights.F32Packed)) throw new BadInputException($"--weights {w.Name()}: the comparison with PyTorch is float32 work (f32 or f32packed)");
            using var model = SampleBench.Student(out var lora);
            var list = SampleBench.Prompts(p, model.Config.VocabSize);
            JsonNode? torchResult = null;
            if (pr.GetValue(torch))
            {
                string dir = Path.Combine(Path.GetTempPath(), $"distill-bench-sample-{Environment.ProcessId}");
                try
                {
                    SampleBench.Export(model, lora, list, n, k, dir);
                    torchResult = RunTorch(dir, pr.GetValue(threads), c);
                }
                finally { if (Directory.Exists(dir)) Directory.Delete(dir, true); }
            }
            ((IProgress<string>)log).Report(model.UseInferenceWeights(w).ToString());
            var r = SampleBench.Measure(model, list, n, k, c, log);
            var peak = FmaPeak.Measure();
            var torchGreedy = torchResult?["greedy_prompt0"]?.AsArray().Select(x => x!.GetValue<int>()).ToArray();
            int agree = torchGreedy is null ? -1 : r.GreedyPrompt0.Zip(torchGreedy).TakeWhile(x => x.First == x.Second).Count();
            var doc = new JsonObject
            {
                ["threads"] = Workers.Count, ["prompts"] = p, ["samples"] = n, ["new_tokens"] = k, ["prompt_tokens"] = r.PromptTokens, ["lora_r"] = SampleBench.LoraR,
                ["distill"] = new JsonObject
                {
                    ["tokens"] = r.Tokens, ["prefill_s"] = Math.Round(r.PrefillSeconds, 3), ["decode_s"] = Math.Round(r.DecodeSeconds, 3),
                    ["ms_per_step"] = Math.Round(r.MsPerStep, 1), ["tokens_per_s"] = Math.Round(r.TokensPerSecond, 1),
                    ["gemm_gflop"] = Math.Round(r.GemmGflop, 1), ["fma_peak_gflops"] = Math.Round(peak.Median, 1),
                    ["floor_s"] = peak.Median > 0 ? Math.Round(r.GemmGflop / peak.Median, 2) : null,
                    ["greedy_prompt0"] = new JsonArray(r.GreedyPrompt0.Select(x => (JsonNode)x).ToArray()),
                },
                ["torch"] = torchResult,
                ["greedy_agreement"] = torchGreedy is null ? null : $"{agree}/{Math.Min(r.GreedyPrompt0.Length, torchGreedy.Length)}",
            };
            if (pr.GetValue(json)) { Console.WriteLine(doc.ToJsonString()); return 0; }
            Console.WriteLine($"{p} prompts ({r.PromptTokens} tokens) × {n} samples × {k} new tokens, {Workers.Count} threads, weights {w.Name()}");
            Console.WriteLine($"{"",-8} {"tokens",8} {"prefill s",10} {"decode s",9} {"ms/step",8} {"tok/s",8}");
            Console.WriteLine($"{"Distill",-8} {r.Tokens,8} {r.PrefillSeconds,10:F2} {r.DecodeSeconds,9:F2} {r.MsPerStep,8:F0} {r.TokensPerSecond,8:F0}");
            if (torchResult is not null)
            {
                double tt = torchResult["tokens_per_s"]!.GetValue<double>();
                Console.WriteLine($"{"PyTorch",-8} {torchResult["tokens"],8} {torchResult["prefill_s"]!.GetValue<double>(),10:F2} {torchResult["decode_s"]!.GetValue<double>(),9:F2} " +
                    $"{torchResult["ms_per_step"]!.GetValue<double>(),8:F0} {tt,8:F0}");
                Console.WriteLine($"speed-up {r.TokensPerSecond / tt:F2}×; greedy tokens of prompt 0 agree {doc["greedy_agreement"]}");
            }
            // the arithmetic bound: the run's counted products at the FMA peak measured now, beside the run and the goal's allowance
            if (peak.Median > 0)
                Console.WriteLine($"floor: {r.GemmGflop:F1} GFLOP of matrix products at the float32 FMA peak of {Workers.Count} thread(s), {peak.Median:F0} GFLOPS = " +
                    $"{r.GemmGflop / peak.Median:F2} s, against Distill's {r.PrefillSeconds + r.DecodeSeconds:F2} s" +
                    (torchResult is null ? "" : $"; {SampleBench.Result.Goal}× PyTorch allows {torchResult["prefill_s"]!.GetValue<double>() / SampleBench.Result.Goal + torchResult["decode_s"]!.GetValue<double>() / SampleBench.Result.Goal:F2} s"));
            return 0;
        });
        return command;
    }

    /// <summary>Runs sample_torch.py as the strongest peer (<see cref="TorchPeer"/>); returns its JSON line.</summary>
    static JsonNode? RunTorch(string dir, int threads, int check)
    {
        string script = Path.Combine(RepoRoot(), "bench", "scripts", "sample_torch.py");
        var psi = TorchPeer.Python([script, "--dir", dir, "--threads", threads.ToString(), "--check", check.ToString()]);
        Console.Error.WriteLine(TorchPeer.Describe(psi));
        using var p = Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) { Console.Error.WriteLine($"distill bench sample: sample_torch.py exited {p.ExitCode}"); return null; }
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
