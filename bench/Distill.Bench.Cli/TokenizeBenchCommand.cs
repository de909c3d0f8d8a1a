using System.CommandLine;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Distill.Cli;
using Distill.Data.Jsonl;
using Distill.Text;

namespace Distill.Bench.Cli.Commands;

/// <summary>
/// `distill bench tokenizers`: single-thread encode throughput (MB of UTF-8 text per second) and
/// peak RSS while streaming a JSONL {"text": ...} corpus line by line (tools/tokenizers/make_bench_corpus.mjs).
/// Compare with tools/tokenizers/bench_reference.mjs run interleaved on the same machine.
/// </summary>
sealed class TokenizeBenchCommand : IVerb
{
    public string? Group => "bench";

    public Command Build()
    {
        var tokenizer = new Option<string[]>("--tokenizer") { Description = "tokenizer.json files or folders (repeatable)", Required = true, AllowMultipleArgumentsPerToken = true };
        var input = new Option<string>("--input") { Description = "JSONL corpus of {\"text\": ...} lines", Required = true };
        var json = new Option<bool>("--json") { Description = "one JSON object per tokenizer on stdout" };
        var command = new Command("tokenizers",
            "Single-thread encode throughput and peak memory of Distill.Text tokenizers on a JSONL corpus.\n" +
            "Example: distill bench tokenizers --tokenizer data/tokenizers/gpt2 --input /tmp/bench10.jsonl");
        foreach (var o in new Option[] { tokenizer, input, json }) command.Options.Add(o);
        command.SetAction(pr =>
        {
            foreach (var path in pr.GetValue(tokenizer)!)
            {
                var (mb, seconds, tokens, peakRss) = Run(TokenizerLoader.Load(path), pr.GetValue(input)!);
                if (pr.GetValue(json))
                    Console.WriteLine(JsonSerializer.Serialize(new { impl = "distill", tokenizer = path, mb, seconds, mb_per_s = mb / seconds, tokens, peak_rss_mb = peakRss / 1e6 }));
                else Console.WriteLine($"{path}: {mb:F1} MB in {seconds:F2} s = {mb / seconds:F2} MB/s, {tokens} tokens, peak RSS {peakRss / 1e6:F0} MB");
            }
        });
        return command;
    }

    internal static (double Mb, double Seconds, long Tokens, long PeakRss) Run(Tokenizer tok, string input)
    {
        long bytes = 0, tokens = 0;
        var sw = Stopwatch.StartNew();
        foreach (var record in JsonlReader.Read(input))
        {
            string text = record.RequireString("text", input);
            bytes += Encoding.UTF8.GetByteCount(text);
            tokens += tok.Encode(text).Ids.Count;
        }
        sw.Stop();
        using var self = Process.GetCurrentProcess();
        self.Refresh();
        return (bytes / 1e6, sw.Elapsed.TotalSeconds, tokens, self.PeakWorkingSet64);
    }
}
