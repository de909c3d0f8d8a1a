using System.Text;
using System.Text.Json;
using Distill.Tensors;
using Distill.Tensors.Autograd;
using Distill.Tensors.Autograd.Ops;
using Distill.Tensors.Optim;

namespace Distill.Models;

/// <summary>
/// Next-token training of a causal LM from scratch on a byte stream (vocabulary = the 256 byte values), used to
/// obtain small models that have learned something without downloading weights: the NF4 fidelity benchmark and
/// its test quantize such a model. Plain recipe: AdamW (β 0.9/0.95, weight decay 0), linear warmup then cosine
/// decay, global gradient-norm clip 1, mean cross-entropy over B·T positions of random windows.
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
        var parameters = model.Weights.Select(w => w.Parameter).ToArray();
        using var optimizer = new AdamW(parameters, lr, 0.9f, 0.95f, 1e-8f, weightDecay: 0f);
        var schedule = new LrSchedule(ScheduleKind.Cosine, lr, Math.Max(1, steps / 20), steps);
        using var tape = new Tape();
        var rng = new Rng(seed);
        var ids = new int[batch * seqLen];      // (batch, seqLen)
        var targets = new int[batch * seqLen];  // (batch, seqLen): ids shifted by one
        var losses = new float[steps];
        for (int step = 0; step < steps; step++)
        {
            for (int b = 0; b < batch; b++)
            {
                int start = rng.NextInt(data.Length - seqLen - 1);
                for (int t = 0; t < seqLen; t++)
                {
                    ids[b * seqLen + t] = data[start + t];
                    targets[b * seqLen + t] = data[start + t + 1];
                }
            }
            tape.Reset();
            var logits = model.Forward(tape, ids, batch);
            var loss = CrossEntropy.Forward(tape, logits, targets, overwriteLogits: true);
            losses[step] = loss[0];
            tape.Backward(loss);
            GradClip.ClipGlobalNorm(optimizer.Parameters, 1f);
            optimizer.Lr = schedule.At(step);
            optimizer.Step();
            optimizer.ZeroGrad();
            if (log is not null && (step % 50 == 0 || step == steps - 1)) log.Report($"step {step}: loss {losses[step]:F4}");
        }
        return losses;
    }
}
