using System.Diagnostics;
using System.Text;
using Distill.Data.Benchmarks;

namespace Distill.Bench.Cli;

/// <summary>One implementation's encode throughput on the benchmark text.</summary>
/// <param name="Impl">"distill", "hf-rust" (Hugging Face tokenizers through Tokenizers.DotNet, P/Invoke) or "ml-tiktoken" (Microsoft.ML.Tokenizers).</param>
/// <param name="MbPerS">Median over the runs of MB per wall-clock second; Runs holds each run's figure.</param>
/// <param name="MbPerCpuS">Median of MB per CPU-second of the whole process (all threads, GC included): less distorted than wall time on a loaded machine.</param>
/// <param name="Tokens">Tokens of one pass; IdHash an order-sensitive hash of every id of one pass.</param>
public sealed record TokenizerBenchResult(string Impl, double MbPerS, double[] Runs, long Tokens, ulong IdHash, string? Unavailable = null, double MbPerCpuS = double.NaN);

/// <summary>
/// `distill bench tokenizers`: single-thread, in-process encode throughput of Distill.Text, Hugging
/// Face's Rust tokenizers (native, through Tokenizers.DotNet's P/Invoke binding — no N-API or
/// encoding objects in the way) and Microsoft.ML.Tokenizers' tiktoken (GPT-2 only: r50k_base is
/// GPT-2's vocabulary), on the same documents, checking that all produce the same token ids. Each
/// run uses a fresh tokenizer (empty word caches); one warm-up pass on another instance first so
/// JIT tier-up is not timed. Figures: docs/performance.md.
/// </summary>
public static class TokenizerBench
{
    /// <summary>One encoder: text → ids, folded into (count, hash) so no id list is kept.</summary>
    public interface IEncoder
    {
        void Encode(string text, ref long count, ref ulong hash);
    }

    /// <summary>
    /// MBPP documents (task text, reference code, tests; one document per task) repeated in order until
    /// <paramref name="megabytes"/> MB of UTF-8 — the text a code model is distilled on.
    /// </summary>
    public static List<string> MbppText(string mbppJsonl, double megabytes)
    {
        var tasks = BenchmarkLoader.Mbpp(mbppJsonl);
        if (tasks.Count == 0) throw new InvalidDataException($"{mbppJsonl}: no MBPP tasks");
        var docs = tasks.Select(t => t.Prompt + "\n" + t.CanonicalSolution + "\n" + t.Test).ToList();
        var result = new List<string>();
        long bytes = 0, target = (long)(megabytes * 1e6);
        for (int i = 0; bytes < target; i = (i + 1) % docs.Count)
        {
            result.Add(docs[i]);
            bytes += Encoding.UTF8.GetByteCount(docs[i]);
        }
        return result;
    }

    /// <summary>
    /// Runs <paramref name="runs"/> timed passes of each implementation over <paramref name="docs"/>.
    /// <paramref name="tokenizerJson"/> is given to Distill and HF; tiktoken runs when <paramref name="tiktokenModel"/> is set ("gpt2").
    /// </summary>
    public static List<TokenizerBenchResult> Measure(string tokenizerJson, IReadOnlyList<string> docs, int runs, string? tiktokenModel,
        Action<string>? log = null)
    {
        double mb = docs.Sum(d => (long)Encoding.UTF8.GetByteCount(d)) / 1e6;
        var warmup = docs.Take(Math.Max(1, docs.Count / 10)).ToList();
        if (runs < 1) throw new ArgumentOutOfRangeException(nameof(runs), runs, "at least one run");
        var impls = new List<(string Name, Func<IEncoder> Create)>
        {
            ("distill", () => new DistillEncoder(tokenizerJson)),
            ("hf-rust", () => new HfRustEncoder(tokenizerJson)),
        };
        if (tiktokenModel != null) impls.Add(("ml-tiktoken", () => new TiktokenEncoder(tiktokenModel)));
        var results = new List<TokenizerBenchResult>();
        foreach (var (name, create) in impls)
        {
            try { Pass(create(), warmup); }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException or TypeInitializationException)
            {
                results.Add(new TokenizerBenchResult(name, double.NaN, [], 0, 0, $"{e.GetType().Name}: {e.Message}"));
                log?.Invoke($"{name}: unavailable here ({e.Message})");
                continue;
            }
            var figures = new double[runs];
            var cpuFigures = new double[runs];
            long tokens = 0; ulong hash = 0;
            for (int r = 0; r < runs; r++)
            {
                var encoder = create();
                var (seconds, cpuSeconds, t, h) = Pass(encoder, docs);
                (encoder as IDisposable)?.Dispose();
                figures[r] = mb / seconds;
                cpuFigures[r] = mb / cpuSeconds;
                tokens = t; hash = h;
                log?.Invoke($"{name} run {r + 1}: {mb:F1} MB in {seconds:F2} s = {figures[r]:F2} MB/s ({cpuFigures[r]:F2} MB per CPU-s), {t} tokens");
            }
            results.Add(new TokenizerBenchResult(name, Median(figures), figures, tokens, hash, MbPerCpuS: Median(cpuFigures)));
        }
        return results;
    }

    static double Median(double[] xs) => xs.Order().ElementAt(xs.Length / 2);

    static (double Seconds, double CpuSeconds, long Tokens, ulong Hash) Pass(IEncoder encoder, IReadOnlyList<string> docs)
    {
        long count = 0; ulong hash = 14695981039346656037UL;
        using var self = Process.GetCurrentProcess();
        var cpu0 = self.TotalProcessorTime;
        var sw = Stopwatch.StartNew();
        foreach (var d in docs) encoder.Encode(d, ref count, ref hash);
        double seconds = sw.Elapsed.TotalSeconds;
        self.Refresh();
        return (seconds, (self.TotalProcessorTime - cpu0).TotalSeconds, count, hash);
    }

    /// <summary>FNV-1a over the ids in order.</summary>
    static void Fold(int id, ref long count, ref ulong hash)
    {
        count++;
        hash = (hash ^ (uint)id) * 1099511628211UL;
    }

    sealed class DistillEncoder(string path) : IEncoder
    {
        readonly Distill.Text.Tokenizer _tok = Distill.Text.TokenizerLoader.Load(path);
        public void Encode(string text, ref long count, ref ulong hash)
        {
            foreach (int id in _tok.EncodeToIds(text)) Fold(id, ref count, ref hash);
        }
    }

    sealed class HfRustEncoder(string path) : IEncoder, IDisposable
    {
        readonly Tokenizers.DotNet.Tokenizer _tok = new(vocabPath: path);
        public void Encode(string text, ref long count, ref ulong hash)
        {
            foreach (uint id in _tok.Encode(text)) Fold((int)id, ref count, ref hash);
        }
        public void Dispose() => _tok.Dispose();
    }

    sealed class TiktokenEncoder(string model) : IEncoder
    {
        readonly Microsoft.ML.Tokenizers.TiktokenTokenizer _tok = Microsoft.ML.Tokenizers.TiktokenTokenizer.CreateForModel(model);
        public void Encode(string text, ref long count, ref ulong hash)
        {
            foreach (int id in _tok.EncodeToIds(text)) Fold(id, ref count, ref hash);
        }
    }
}
