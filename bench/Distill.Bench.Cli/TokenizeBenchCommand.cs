using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using Distill.Cli;
using Distill.Data;
using Distill.Data.Jsonl;

namespace Distill.Bench.Cli.Commands;

/// <summary>
/// `distill bench tokenizers`: single-thread, in-process encode throughput of Distill.Text, Hugging
/// Face's Rust tokenizers (native, Tokenizers.DotNet) and Microsoft.ML.Tokenizers' tiktoken (GPT-2) on
/// the same text — MBPP by default, or a JSONL {"text": ...} corpus — with the token ids checked equal.
/// The measuring is bench/Distill.Bench/TokenizerBench; this verb only parses options and prints.
/// </summary>
sealed class TokenizeBenchCommand : IVerb
{
    public string? Group => "bench";

    public Command Build()
    {
        var tokenizer = new Option<string>("--tokenizer") { Description = "tokenizer.json file or its folder", Required = true };
        var input = new Option<string?>("--input") { Description = "JSONL corpus of {\"text\": ...} lines (default: MBPP repeated to --mb)" };
        var mbpp = new Option<string?>("--mbpp") { Description = "mbpp.jsonl (default: the benchmarks folder's mbpp/mbpp.jsonl)" };
        var mb = new Option<double>("--mb") { Description = "MB of MBPP text", DefaultValueFactory = _ => 10 };
        var runs = new Option<int>("--runs") { Description = "timed passes per implementation (median reported)", DefaultValueFactory = _ => 3 };
        var tiktoken = new Option<string?>("--tiktoken") { Description = "Microsoft.ML.Tokenizers tiktoken model to compare (gpt2 for GPT-2's vocabulary; none to skip)", DefaultValueFactory = _ => "gpt2" };
        var json = new Option<bool>("--json") { Description = "one JSON object on stdout" };
        var command = new Command("tokenizers",
            "Encode throughput of Distill.Text vs Hugging Face Rust tokenizers (native) vs Microsoft.ML.Tokenizers tiktoken, same text, ids checked equal.\n" +
            "Example: distill bench tokenizers --tokenizer data/tokenizers/gpt2 --mb 10 --runs 5");
        foreach (var o in new Option[] { tokenizer, input, mbpp, mb, runs, tiktoken, json }) command.Options.Add(o);
        command.SetAction(pr =>
        {
            string path = pr.GetValue(tokenizer)!;
            if (Directory.Exists(path)) path = Path.Combine(path, "tokenizer.json");
            if (!File.Exists(path)) return Fail($"--tokenizer: {path} not found");
            int runCount = pr.GetValue(runs);
            if (runCount < 1) return Fail($"--runs must be at least 1, not {runCount}");
            double megabytes = pr.GetValue(mb);
            if (!(megabytes > 0)) return Fail($"--mb must be positive, not {megabytes}");
            string? model = pr.GetValue(tiktoken) is "none" or "" ? null : pr.GetValue(tiktoken);
            List<string> docs;
            string source;
            try
            {
                if (pr.GetValue(input) is { } corpus)
                {
                    if (!File.Exists(corpus)) return Fail($"--input: {corpus} not found");
                    docs = JsonlReader.Read(corpus).Select(r => r.RequireString("text", corpus)).ToList();
                    source = corpus;
                }
                else
                {
                    var file = pr.GetValue(mbpp) ?? (RepoData.Benchmarks() is { } b ? Path.Combine(b, "mbpp", "mbpp.jsonl") : null);
                    if (file is null || !File.Exists(file)) return Fail(file is null ? "no --mbpp or --input given and no benchmarks folder found" : $"--mbpp: {file} not found");
                    docs = TokenizerBench.MbppText(file, megabytes);
                    source = $"{file} repeated to {megabytes} MB";
                }
                var results = TokenizerBench.Measure(path, docs, runCount, model, line => Console.Error.WriteLine(line));
                var reference = results[0];
                var mismatched = results.Where(r => r.Unavailable is null && (r.Tokens != reference.Tokens || r.IdHash != reference.IdHash)).Select(r => r.Impl).ToList();
                if (pr.GetValue(json))
                    Console.WriteLine(new JsonObject
                    {
                        ["machine"] = Machine.Describe(), ["date"] = DateTime.UtcNow.ToString("u"), ["tokenizer"] = path, ["text"] = source,
                        ["mb"] = Math.Round(docs.Sum(d => (long)System.Text.Encoding.UTF8.GetByteCount(d)) / 1e6, 3), ["threads"] = 1,
                        ["ids_identical"] = mismatched.Count == 0,
                        ["results"] = new JsonArray(results.Select(r => (JsonNode)new JsonObject
                        {
                            ["impl"] = r.Impl, ["mb_per_s"] = double.IsNaN(r.MbPerS) ? null : Math.Round(r.MbPerS, 2),
                            ["mb_per_cpu_s"] = double.IsNaN(r.MbPerCpuS) ? null : Math.Round(r.MbPerCpuS, 2),
                            ["runs"] = new JsonArray(r.Runs.Select(x => (JsonNode)Math.Round(x, 2)).ToArray()), ["tokens"] = r.Tokens,
                            ["unavailable"] = r.Unavailable,
                        }).ToArray()),
                    }.ToJsonString());
                else
                {
                    Console.WriteLine($"{Machine.Describe()}; {source}; one thread");
                    foreach (var r in results)
                        Console.WriteLine(r.Unavailable is { } why ? $"{r.Impl,-12} unavailable: {why}"
                            : $"{r.Impl,-12} {r.MbPerS,7:F2} MB/s (runs {string.Join(", ", r.Runs.Select(x => x.ToString("F2")))}), {r.MbPerCpuS:F2} MB per CPU-s, {r.Tokens} tokens");
                    Console.WriteLine(mismatched.Count == 0 ? "token ids identical" : $"token ids DIFFER from distill: {string.Join(", ", mismatched)}");
                }
                return mismatched.Count == 0 ? 0 : 1;
            }
            catch (Exception e) when (e is NotSupportedException or FormatException)
            {
                return Fail(e.Message);
            }
        });
        return command;
    }

    // Bad input is VerbHost's one error path: exit 2, one line `distill bench tokenizers: reason`.
    static int Fail(string reason) => throw new BadInputException(reason);
}
