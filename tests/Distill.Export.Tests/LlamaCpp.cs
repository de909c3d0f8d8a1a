using LLama;
using LLama.Common;
using LLama.Native;

namespace Distill.Export.Tests;

/// <summary>
/// llama.cpp (through LLamaSharp's prebuilt CPU backend) on a GGUF file: its tokenizer and a greedy decode taken as
/// the argmax of its logits at each step (no sampler, so nothing but the model's numerics decides). The KV cache is
/// float32 and flash attention off, so the f32 file is compared with Distill's float32 forward as closely as
/// llama.cpp allows. One thread: the test models' layers are far shorter than a hand-off between ggml's OpenMP
/// threads, whose idle spinning took 30 % of this assembly's CPU with two (perf, `libgomp`); a greedy decode's
/// tokens do not depend on the thread count.
/// </summary>
sealed class LlamaCpp : IDisposable
{
    readonly LLamaWeights _weights;
    readonly LLamaContext _context;

    public LlamaCpp(string gguf, int threads = 1, uint contextSize = 256)
    {
        NativeLogConfig.llama_log_set((level, message) => { if (level == LLamaLogLevel.Error) Console.Error.Write(message); });
        var p = new ModelParams(gguf)
        {
            ContextSize = contextSize, BatchSize = contextSize, GpuLayerCount = 0, Threads = threads, BatchThreads = threads,
            TypeK = GGMLType.GGML_TYPE_F32, TypeV = GGMLType.GGML_TYPE_F32, FlashAttention = false,
        };
        _weights = LLamaWeights.LoadFromFile(p);
        _context = _weights.CreateContext(p);
    }

    public int[] Tokenize(string text) => _context.Tokenize(text, addBos: false, special: true).Select(t => (int)t).ToArray();

    public IReadOnlyDictionary<string, string> Metadata => _weights.Metadata;

    /// <summary>Greedy continuation of <paramref name="prompt"/> for <paramref name="steps"/> tokens.</summary>
    public int[] Greedy(int[] prompt, int steps)
    {
        _context.NativeHandle.MemoryClear(true);
        var batch = new LLamaBatch();
        for (int i = 0; i < prompt.Length; i++) batch.Add((LLamaToken)prompt[i], i, LLamaSeqId.Zero, i == prompt.Length - 1);
        var output = new List<int>();
        int pos = prompt.Length;
        for (int s = 0; s < steps; s++)
        {
            var r = _context.Decode(batch);
            if (r != DecodeResult.Ok) throw new InvalidOperationException($"llama_decode returned {r}");
            var logits = _context.NativeHandle.GetLogitsIth(batch.TokenCount - 1);
            int best = 0;
            for (int v = 1; v < logits.Length; v++) if (logits[v] > logits[best]) best = v;
            output.Add(best);
            batch.Clear();
            batch.Add((LLamaToken)best, pos++, LLamaSeqId.Zero, true);
        }
        return output.ToArray();
    }

    public void Dispose()
    {
        _context.Dispose();
        _weights.Dispose();
    }
}
