using System.Diagnostics;
using Distill.Cli;
using Distill.Models;
using Distill.Models.Formats;
using LLama;
using LLama.Common;
using LLama.Native;

namespace Distill.Bench.Cli.Commands;

/// <summary>
/// What `bench decode` and `bench decode-llamacpp` share: the model (the SmolLM2-135M shape with random weights and GPT-2's
/// tokenizer, vocab 50,257: the GGUF must carry a tokenizer the repository ships), the prompts, the median timer, and
/// llama.cpp's greedy decode through LLamaSharp.
/// </summary>
static class DecodeBench
{
    /// <summary>The 8-token prompt of sequence <paramref name="s"/> (sequence 0: "The quick brown fox jumps over the lazy").</summary>
    public static int[] Prompt(int s) => [464 + s, 2068, 7586, 21831, 18045, 625, 262, 16931 + s];

    /// <summary>Writes the benchmark model into <paramref name="dir"/>; its parameter count.</summary>
    public static long InitModel(string dir)
    {
        string tokenizer = Distill.Data.RepoData.Find("tokenizers", "gpt2") ?? throw new BadInputException("data/tokenizers/gpt2 not found (run from the repository)");
        var config = ModelPresets.Get("smollm2-135m") with { VocabSize = 50257, BosTokenId = 50256, EosTokenIds = [50256] };
        return ModelFolder.Init(config, tokenizer, dir, seed: 1, SafetensorsDType.F32);
    }

    public static double Median(int runs, Action a)
    {
        var times = new List<double>();
        for (int i = 0; i < runs; i++)
        {
            var sw = Stopwatch.StartNew();
            a();
            times.Add(sw.Elapsed.TotalSeconds);
        }
        times.Sort();
        return times[times.Count / 2];
    }

    /// <summary>
    /// llama.cpp greedy decode (argmax of the logits) of <paramref name="newTokens"/> tokens for each prompt (one sequence
    /// each, all decoded in one batch per step); the median seconds of <paramref name="runs"/> runs after a warm-up.
    /// </summary>
    public static double LlamaCppDecode(string gguf, int[][] prompts, int newTokens, int runs, int threads)
    {
        NativeLogConfig.llama_log_set((level, message) => { if (level == LLamaLogLevel.Error) Console.Error.Write(message); });
        int seqs = prompts.Length, promptLen = prompts.Max(p => p.Length);
        var p = new ModelParams(gguf)
        {
            ContextSize = (uint)(seqs * (promptLen + newTokens + 8)), BatchSize = (uint)Math.Max(512, seqs * promptLen), SeqMax = (uint)seqs,
            GpuLayerCount = 0, Threads = threads, BatchThreads = threads,
        };
        using var weights = LLamaWeights.LoadFromFile(p);
        using var ctx = weights.CreateContext(p);
        void Decode(int steps)
        {
            ctx.NativeHandle.MemoryClear(true);
            var batch = new LLamaBatch();
            var logitIndex = new int[seqs];
            for (int s = 0; s < seqs; s++)
                for (int i = 0; i < prompts[s].Length; i++)
                {
                    if (i == prompts[s].Length - 1) logitIndex[s] = batch.TokenCount;
                    batch.Add((LLamaToken)prompts[s][i], i, (LLamaSeqId)s, i == prompts[s].Length - 1);
                }
            var pos = prompts.Select(q => q.Length).ToArray();
            var next = new int[seqs];
            for (int step = 0; step < steps; step++)
            {
                if (ctx.Decode(batch) != DecodeResult.Ok) throw new InvalidOperationException("llama_decode failed");
                for (int s = 0; s < seqs; s++)
                {
                    var logits = ctx.NativeHandle.GetLogitsIth(logitIndex[s]);
                    int best = 0;
                    for (int v = 1; v < logits.Length; v++) if (logits[v] > logits[best]) best = v;
                    next[s] = best;
                }
                batch.Clear();
                for (int s = 0; s < seqs; s++)
                {
                    logitIndex[s] = batch.TokenCount;
                    batch.Add((LLamaToken)next[s], pos[s]++, (LLamaSeqId)s, true);
                }
            }
        }
        Decode(8); // warm-up
        return Median(runs, () => Decode(newTokens));
    }
}
