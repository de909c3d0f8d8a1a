using System.CommandLine;
using Distill.Cli;
using Distill.Models;
using Distill.Models.Formats;
using Distill.Models.Formats.Gguf;
using Distill.Models.Generation;
using Distill.Tensors.Threading;

namespace Distill.Bench.Cli.Commands;

/// <summary>
/// `distill bench decode-llamacpp`: Distill's greedy decode speed (KV cache, batch 1, float32) against llama.cpp's on the
/// same model exported to GGUF (f32 and q8_0), through LLamaSharp's CPU build. The model is the SmolLM2-135M shape with
/// random weights and GPT-2's tokenizer (vocab 50,257 instead of 49,152: the GGUF must carry a tokenizer the repository
/// ships). Each engine decodes --new-tokens tokens after a short prompt; the median of --runs runs is reported, prefill
/// included (8 prompt tokens, a few percent of the time). Figures: docs/performance.md.
/// </summary>
sealed class BenchDecodeLlamaCppCommand : IVerb
{
    public string? Group => "bench";

    public Command Build()
    {
        var threads = BenchOptions.Threads();
        var tokens = new Option<int>("--new-tokens") { Description = "Tokens decoded per run", DefaultValueFactory = _ => 256 };
        var runs = new Option<int>("--runs") { Description = "Timed runs per engine (median reported)", DefaultValueFactory = _ => 3 };
        var dtypes = new Option<string>("--dtypes") { Description = "GGUF types llama.cpp runs (comma-separated)", DefaultValueFactory = _ => "f32,q8_0" };
        var command = new Command("decode-llamacpp", "Decode tokens/s: Distill vs llama.cpp (LLamaSharp) on the same model (SmolLM2-135M shape, batch 1).\n"
            + "Example: distill bench decode-llamacpp --threads 2 --new-tokens 256 --runs 3");
        foreach (var o in new Option[] { threads, tokens, runs, dtypes }) command.Options.Add(o);
        command.SetAction(pr =>
        {
            int n = pr.GetValue(tokens), r = pr.GetValue(runs), t = pr.GetValue(threads);
            if (n < 1 || r < 1 || t < 1) throw new BadInputException("--new-tokens, --runs and --threads must be ≥ 1");
            var types = pr.GetValue(dtypes)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            foreach (var d in types) GgmlTypes.Parse(d);
            Workers.Count = t;
            var root = Directory.CreateTempSubdirectory("distill-bench-decode").FullName;
            try { Run(root, n, r, t, types); }
            finally { Directory.Delete(root, recursive: true); }
            return 0;
        });
        return command;
    }

    static void Run(string root, int newTokens, int runs, int threads, string[] types)
    {
        string dir = Path.Combine(root, "model");
        long parameters = DecodeBench.InitModel(dir);
        Console.Error.WriteLine($"model: SmolLM2-135M shape, vocab 50257, {parameters / 1e6:F1} M parameters, random weights; {threads} threads, {newTokens} new tokens, median of {runs}");
        int[] prompt = DecodeBench.Prompt(0);
        using var model = ModelIO.Load(dir);
        var greedy = new SamplingOptions { MaxNewTokens = newTokens, Temperature = 0 };
        Generator.Generate(model, prompt, greedy with { MaxNewTokens = 8 }); // warm-up
        double distill = DecodeBench.Median(runs, () => Generator.Generate(model, prompt, greedy));
        Console.WriteLine($"{"engine",-22} {"tokens/s",9} {"ms/token",9}");
        Console.WriteLine($"{"Distill (f32)",-22} {newTokens / distill,9:F1} {distill * 1000 / newTokens,9:F2}");
        foreach (var d in types)
        {
            string gguf = Path.Combine(root, $"model-{d}.gguf");
            GgufExport.Write(model, dir, gguf, d);
            double s = DecodeBench.LlamaCppDecode(gguf, [prompt], newTokens, runs, threads);
            Console.WriteLine($"{$"llama.cpp ({d})",-22} {newTokens / s,9:F1} {s * 1000 / newTokens,9:F2}   ({distill / s:F1}× Distill's speed)");
        }
    }
}
