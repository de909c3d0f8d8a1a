using System.Text;
using System.Text.Json;
using Distill.Models;
using Distill.Tensors;
using Distill.Tensors.Optim;
using Distill.Training.Data;
using Distill.Training.Objectives;

namespace Distill.Training;

/// <summary>
/// Next-token training of a causal LM from scratch on a byte stream (vocabulary = the 256 byte values), used to
/// obtain small models that have learned something without downloading weights: the NF4 fidelity benchmark and
/// its test quantize such a model. Plain recipe: AdamW (β 0.9/0.95, weight decay 0), linear warmup then cosine
/// decay, global gradient-norm clip 1, mean cross-entropy over B·T positions of random windows. The loop is the
/// library's <see cref="Trainer"/> with the <see cref="SftObjective"/> (each window is an example whose first byte is
/// the prompt), so the NF4 benchmark and its test train through the same path as every method.
/// </summary>
public static class ScratchTraining
{
    /// <summary>A Llama-style shape (RMSNorm, SwiGLU, RoPE, GQA, tied embeddings) over the 256 byte values.</summary>
    public static ModelConfig ByteLlama(int hidden, int layers, int heads, int kvHeads, int intermediate) => new()
    {
        Architecture = "LlamaForCausalLM", ModelType = "llama", Family = ModelFamily.Llama,
        VocabSize = 256, HiddenSize = hidden, IntermediateSize = intermediate, NumLayers = layers, NumHeads = heads,
        NumKvHeads = kvHeads, HeadDim = hidden / heads, MaxPositionEmbeddings = 1024, NormEps = 1e-5, HiddenAct = "silu",
        TieWordEmbeddings = true, InitializerRange = 0.02, RopeTheta = 10000, BosTokenId = null, EosTokenIds = [],
    };

    /// <summary>
    /// MBPP (mbpp.jsonl) as UTF-8 bytes: per task the description as a comment, the reference code (CRLF → LF) and
    /// its asserts. Tasks [0, split) go to the training stream, [split, end) to the held-out stream, so no held-out
    /// program is seen in training. (Read here rather than through Distill.Data's BenchmarkLoader: Models sits below
    /// Data in docs/architecture.md §2, and three fields are all this needs.)
    /// </summary>
    public static (byte[] Train, byte[] HeldOut) MbppBytes(string jsonlPath, double trainFraction = 0.9)
    {
        if (!File.Exists(jsonlPath)) throw new FileNotFoundException($"MBPP corpus not found: {jsonlPath}");
        var tasks = new List<string>();
        int line = 0;
        foreach (var text in File.ReadLines(jsonlPath))
        {
            line++;
            if (string.IsNullOrWhiteSpace(text)) continue;
            try
            {
                using var doc = JsonDocument.Parse(text);
                var r = doc.RootElement;
                var sb = new StringBuilder();
                sb.Append("# ").Append(r.GetProperty("text").GetString()).Append('\n');
                sb.Append(r.GetProperty("code").GetString()!.Replace("\r\n", "\n")).Append('\n');
                foreach (var t in r.GetProperty("test_list").EnumerateArray()) sb.Append(t.GetString()).Append('\n');
                sb.Append('\n');
                tasks.Add(sb.ToString());
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
            {
                throw new InvalidDataException($"{jsonlPath}:{line}: not an MBPP record ({e.Message})", e);
            }
        }
        if (tasks.Count < 10) throw new InvalidDataException($"{jsonlPath}: {tasks.Count} records, expected MBPP's 974");
        int split = (int)(tasks.Count * trainFraction);
        return (Encoding.UTF8.GetBytes(string.Concat(tasks.Take(split))), Encoding.UTF8.GetBytes(string.Concat(tasks.Skip(split))));
    }

    /// <summary>Entropy of the byte frequencies of <paramref name="data"/> in nats: the loss of the best context-free model.</summary>
    public static double UnigramEntropy(ReadOnlySpan<byte> data)
    {
        var counts = new long[256];
        foreach (byte b in data) counts[b]++;
        double h = 0;
        foreach (long c in counts)
            if (c > 0) { double p = (double)c / data.Length; h -= p * Math.Log(p); }
        return h;
    }

    /// <summary>
    /// Trains every parameter of <paramref name="model"/> for <paramref name="steps"/> steps on random windows of
    /// <paramref name="data"/>; returns the loss of each step. Deterministic for a seed and thread count.
    /// </summary>
    public static float[] Train(CausalLM model, byte[] data, int steps, int batch, int seqLen, float lr, ulong seed, IProgress<string>? log = null)
    {
        if (model.Config.VocabSize < 256) throw new ArgumentException($"byte-level training needs a vocabulary of at least 256, not {model.Config.VocabSize}");
        if (data.Length < seqLen + 2) throw new ArgumentException($"{data.Length} bytes are fewer than one window of {seqLen + 1}");
        // window b of step s: bytes [start, start + seqLen] — the first byte is the prompt, the next seqLen are predicted
        var rng = new Rng(seed);
        var windows = new List<TrainingExample>(steps * batch);
        for (int i = 0; i < steps * batch; i++)
        {
            int start = rng.NextInt(data.Length - seqLen - 1);
            windows.Add(new TrainingExample([data[start]], data.AsSpan(start + 1, seqLen).ToArray().Select(b => (int)b).ToArray()));
        }
        var options = new TrainerOptions
        {
            Stage = "scratch", MaxSteps = steps, BatchSize = batch, MaxLength = seqLen + 1, LearningRate = lr, Schedule = ScheduleKind.Cosine,
            WarmupSteps = Math.Max(1, steps / 20), AdamBeta1 = 0.9f, AdamBeta2 = 0.95f, AdamEpsilon = 1e-8f, WeightDecay = 0f, MaxGradNorm = 1f,
            Shuffle = false, SaveSteps = 0, Seed = seed,
        };
        string dir = Path.Combine(Path.GetTempPath(), $"distill-scratch-{Environment.ProcessId}-{Guid.NewGuid():N}");
        var losses = new float[steps];
        var progress = new StepLosses(losses, log);
        try { new Trainer(options, new SftObjective(), windows, model, dir).Run(progress); }
        finally { if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true); }
        return losses;
    }

    /// <summary>Collects each step's loss (synchronously, unlike Progress&lt;T&gt;) and logs every 50th.</summary>
    sealed class StepLosses(float[] losses, IProgress<string>? log) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress p)
        {
            if (p.Step == 0) return;
            losses[p.Step - 1] = p.Loss;
            if (log is not null && ((p.Step - 1) % 50 == 0 || p.Step == losses.Length)) log.Report($"step {p.Step - 1}: loss {p.Loss:F4}");
        }
    }
}
