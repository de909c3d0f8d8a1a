using System.CommandLine;
using Distill.Cli;
using Distill.Models;
using Distill.Models.Formats;
using Distill.Models.Formats.Gguf;
using Distill.Models.Generation;
using Distill.Tensors.Quantization;
using Distill.Tensors.Threading;

namespace Distill.Bench.Cli.Commands;

/// <summary>
/// `distill bench decode`: greedy decoding tokens/s of Distill with f32 and q8_0 inference weights
/// (CausalLM.UseInferenceWeights) at batch 1 and batch 16, beside llama.cpp (LLamaSharp's CPU build) running Distill's own
/// q8_0 GGUF export of the same model with the same thread count, and the machine's read bandwidth (a 1 GiB array).
/// Model: the SmolLM2-135M shape with random weights and GPT-2's tokenizer (vocab 50,257: the GGUF must carry a
/// tokenizer the repository ships), as `bench decode-llamacpp`. Batch 16: 16 different 8-token prompts decoded together
/// (Distill: BatchSampler's ragged batch; llama.cpp: 16 sequences in one llama_batch per step). Tokens/s counts every
/// sequence's new tokens; each figure is the median of --runs runs, prefill included. Figures: docs/performance.md.
/// </summary>
sealed class BenchDecodeCommand : IVerb
{
    public string? Group => "bench";

    public Command Build()
    {
        var threads = BenchOptions.Threads();
        var tokens = new Option<int>("--new-tokens") { Description = "Tokens decoded per sequence per run", DefaultValueFactory = _ => 128 };
        var runs = new Option<int>("--runs") { Description = "Timed runs per configuration (median reported)", DefaultValueFactory = _ => 3 };
        var batches = new Option<string>("--batches") { Description = "Batch sizes (comma-separated)", DefaultValueFactory = _ => "1,16" };
        var weights = new Option<string>("--weights") { Description = "Distill inference weights to run (comma-separated, f32|q8|q8row|bf16)", DefaultValueFactory = _ => "f32,bf16,q8" };
        var profile = new Option<bool>("--profile") { Description = "Also time the inference matmuls alone (every matrix once at batch 1, as one token reads them) and the activation quantization" };
        var llama = new Option<string>("--llamacpp") { Description = "GGUF types llama.cpp runs (comma-separated; empty: none)", DefaultValueFactory = _ => "f32,q8_0" };
        var command = new Command("decode", "Decode tokens/s: Distill f32, bf16 and q8 weights at batch 1 and 16 vs llama.cpp f32 and q8_0 (SmolLM2-135M shape), plus read bandwidth.\n"
            + "Example: distill bench decode --threads 2 --new-tokens 128 --runs 3");
        foreach (var o in new Option[] { threads, tokens, runs, batches, weights, llama, profile }) command.Options.Add(o);
        command.SetAction(pr =>
        {
            int n = pr.GetValue(tokens), r = pr.GetValue(runs), t = pr.GetValue(threads);
            if (n < 1 || r < 1 || t < 1) throw new BadInputException("--new-tokens, --runs and --threads must be ≥ 1");
            static string[] List(string? s) => (s ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            int[] bs;
            try { bs = List(pr.GetValue(batches)).Select(int.Parse).ToArray(); }
            catch (FormatException) { throw new BadInputException("--batches: comma-separated integers"); }
            if (bs.Length == 0 || bs.Any(b => b < 1 || b > 64)) throw new BadInputException("--batches: sizes in 1..64");
            InferenceWeights[] ws;
            try { ws = List(pr.GetValue(weights)).Select(InferenceWeightsNames.Parse).ToArray(); }
            catch (ArgumentException e) { throw new BadInputException("--weights: " + e.Message); }
            var types = List(pr.GetValue(llama));
            foreach (var d in types) GgmlTypes.Parse(d);
            Workers.Count = t;
            var root = Directory.CreateTempSubdirectory("distill-bench-decode").FullName;
            try { Run(root, n, r, t, bs, ws, types, pr.GetValue(profile)); }
            finally { Directory.Delete(root, recursive: true); }
            return 0;
        });
        return command;
    }

    static string LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

    static void Run(string root, int newTokens, int runs, int threads, int[] batches, InferenceWeights[] weights, string[] types, bool profile)
    {
        Console.WriteLine($"machine: {Machine.Describe()}; q8 kernel {Q8Gemm.Best}, bf16 kernel {Bf16Matrix.Best}; {threads} threads; load average {LoadAverage()}");
        var (best, median) = ReadBandwidth.Measure();
        Console.WriteLine($"read bandwidth (1 GiB array, {threads} threads): best {best:F1} GB/s, median {median:F1} GB/s");
        string dir = Path.Combine(root, "model");
        long parameters = DecodeBench.InitModel(dir);
        Console.WriteLine($"model: SmolLM2-135M shape, vocab 50257, {parameters / 1e6:F1} M parameters, random weights; {newTokens} new tokens per sequence, median of {runs}");
        using var model = ModelIO.Load(dir);
        model.FreezeBase();
        var greedy = new SamplingOptions { MaxNewTokens = newTokens, Temperature = 0 };
        Console.WriteLine($"{"engine",-24} {"batch",5} {"tokens/s",9} {"ms/step",8}  weights read per token");
        var results = new Dictionary<(string, int), double>();
        int[]? f32Tokens = null;
        foreach (var w in weights)
        {
            var report = model.UseInferenceWeights(w);
            long weightBytes = w != InferenceWeights.F32 ? report.Bytes + NonLinearBytes(model) : 4 * parameters;
            foreach (int b in batches)
            {
                var prompts = Enumerable.Range(0, b).Select(DecodeBench.Prompt).ToArray();
                double seconds;
                if (b == 1)
                {
                    var first = Generator.Generate(model, prompts[0], greedy with { MaxNewTokens = 16 })[0].Ids; // warm-up
                    if (w == InferenceWeights.F32) f32Tokens = first;
                    else if (f32Tokens is not null) Console.Error.WriteLine($"  {w.Name()}: {first.Zip(f32Tokens).Count(p => p.First == p.Second)}/16 greedy tokens equal to f32 (random weights: near-ties)");
                    seconds = DecodeBench.Median(runs, () => Generator.Generate(model, prompts[0], greedy));
                }
                else
                {
                    BatchSampler.Generate(model, prompts, greedy with { MaxNewTokens = 8 }, maxRows: b); // warm-up
                    seconds = DecodeBench.Median(runs, () => BatchSampler.Generate(model, prompts, greedy, maxRows: b));
                }
                results[(w.Name(), b)] = b * newTokens / seconds;
                Console.WriteLine($"{$"Distill ({w.Name()})",-24} {b,5} {b * newTokens / seconds,9:F1} {seconds * 1000 / newTokens,8:F2}  {weightBytes / 1e6:F0} MB");
            }
            if (profile && w != InferenceWeights.F32) Profile(model, runs);
        }
        model.UseInferenceWeights(InferenceWeights.F32);
        foreach (var d in types)
        {
            string gguf = Path.Combine(root, $"model-{d}.gguf");
            GgufExport.Write(model, dir, gguf, d);
            foreach (int b in batches)
            {
                double s = DecodeBench.LlamaCppDecode(gguf, Enumerable.Range(0, b).Select(DecodeBench.Prompt).ToArray(), newTokens, runs, threads);
                results[($"llama.cpp {d}", b)] = b * newTokens / s;
                Console.WriteLine($"{$"llama.cpp ({d})",-24} {b,5} {b * newTokens / s,9:F1} {s * 1000 / newTokens,8:F2}  {new FileInfo(gguf).Length / 1e6:F0} MB file");
            }
        }
        foreach (int b in batches)
            if (results.TryGetValue(("q8", b), out var q) && results.TryGetValue(("llama.cpp q8_0", b), out var l))
                Console.WriteLine($"batch {b}: Distill q8 / llama.cpp q8_0 = {q / l:F2}×");
        foreach (int b in batches)
            if (results.TryGetValue(("bf16", b), out var h) && results.TryGetValue(("f32", b), out var f))
                Console.WriteLine($"batch {b}: Distill bf16 / Distill f32 = {h / f:F2}×");
        Console.WriteLine($"load average after: {LoadAverage()}");
    }

    /// <summary>
    /// The weight stream alone: every inference matrix of the model multiplied once by a random x at batch 1 (what one
    /// decoded token reads), median of 5·runs passes; and the q8 activations' quantization alone. Decode's ms/token minus
    /// this is the time spent outside the matmuls (attention, norms, RoPE, tape, sampling, dispatch).
    /// </summary>
    static void Profile(CausalLM model, int runs)
    {
        var mats = model.Linears.Select(l => l.Inference).OfType<IInferenceMatrix>().ToList();
        if (model.InferenceHead is { } head) mats.Add(head);
        long bytes = mats.Sum(m => m.Bytes);
        var xs = mats.Select(m => Enumerable.Range(0, m.Cols).Select(i => MathF.Sin(i * 0.7f)).ToArray()).ToList();
        var ys = mats.Select(m => new float[m.Rows]).ToList();
        for (int i = 0; i < mats.Count; i++) mats[i].Forward(xs[i], 1, ys[i]); // warm-up
        double all = DecodeBench.Median(5 * runs, () => { for (int i = 0; i < mats.Count; i++) mats[i].Forward(xs[i], 1, ys[i]); });
        double headOnly = model.InferenceHead is { } h ? DecodeBench.Median(5 * runs, () => h.Forward(xs[^1], 1, ys[^1])) : 0;
        var act = new Q8Activations();
        double quant = DecodeBench.Median(5 * runs, () => { for (int i = 0; i < mats.Count; i++) if (mats[i] is Q8Matrix) act.Quantize(xs[i], 1, mats[i].Cols); });
        Console.WriteLine($"  profile {mats[0].Format}: {mats.Count} matmuls at batch 1 = {all * 1000:F2} ms/token ({bytes / all / 1e9:F1} GB/s over {bytes / 1e6:F0} MB), " +
                          $"of which the head {headOnly * 1000:F2} ms" + (mats.Any(m => m is Q8Matrix) ? $"; activation quantization {quant * 1000:F3} ms/token" : ""));
    }

    /// <summary>Float weights a q8 forward still reads per token: norms, biases, and the embedding row (negligible) — the norms.</summary>
    static long NonLinearBytes(CausalLM model)
        => 4L * model.Weights.Where(w => w.Parameter.Value.Rank == 1).Sum(w => (long)w.Parameter.Length);
}
