using Distill.Tensors;
using Distill.Tensors.Autograd;

namespace Distill.Models.Generation;

/// <summary>One generated continuation: its ids (EOS included when hit), its text if a decoder was given, why it stopped.</summary>
public sealed record Completion(int[] Ids, string? Text, string FinishReason)
{
    /// <summary>The seed of the random stream this completion was drawn from (<see cref="BatchSampler"/>); rerunning with it reproduces it.</summary>
    public ulong? Seed { get; init; }
}

/// <summary>
/// Autoregressive generation with a KV cache: the prompt is run once (prefill), then one token per step for all
/// sequences of the batch together; each step's keys and values are appended to the per-layer caches, so a step
/// costs one token's forward. The n samples of a prompt form the batch (same length: no padding needed).
/// </summary>
public static class Generator
{
    /// <param name="decode">token ids → text; required for stop strings and for <see cref="Completion.Text"/>.</param>
    public static IReadOnlyList<Completion> Generate(CausalLM model, int[] prompt, SamplingOptions o, Func<int[], string>? decode = null)
    {
        o.Validate();
        SequenceClassification.RequireLanguageModel(model, "generate text");
        if (prompt.Length == 0) throw new ArgumentException("the prompt is empty; give at least one token (e.g. BOS)");
        if (o.StopStrings.Count > 0 && decode is null) throw new ArgumentException("stop strings need a tokenizer to decode the completion");
        int vocab = model.Config.VocabSize;
        foreach (int t in prompt)
            if ((uint)t >= (uint)vocab) throw new ArgumentException($"prompt token id {t} is outside the vocabulary (size {vocab})");
        int n = o.N, capacity = prompt.Length + Math.Max(1, o.MaxNewTokens);
        var rng = new Rng(o.Seed);
        var caches = model.CreateCaches(n, capacity);
        using var tape = new Tape { NoGrad = true, InferenceWeights = true };
        try
        {
            var generated = Enumerable.Range(0, n).Select(_ => new List<int>()).ToArray();
            var seen = Enumerable.Range(0, n).Select(_ => new HashSet<int>(prompt)).ToArray();
            var reason = new string?[n];
            var ids = new int[n * prompt.Length];
            for (int s = 0; s < n; s++) prompt.CopyTo(ids, s * prompt.Length);
            int pos = 0, len = prompt.Length;
            var next = new int[n];
            var fed = Enumerable.Range(0, n).Select(_ => new List<int>(prompt)).ToArray(); // every token run so far, per sequence
            for (int step = 0; step < o.MaxNewTokens; step++)
            {
                tape.Reset();
                if (model.CacheInvalidatedAt(pos, len))
                {
                    // longrope switched to its long factors: run the whole sequence again (prefill from position 0)
                    len += pos;
                    pos = 0;
                    ids = fed.SelectMany(f => f).ToArray();
                    foreach (var c in caches) c.Clear();
                }
                var logits = model.ForwardCached(tape, ids, n, caches, pos);
                pos += len;
                for (int s = 0; s < n; s++)
                {
                    if (reason[s] is not null) { next[s] = generated[s][^1]; continue; } // finished: feed anything, ignore
                    var row = logits.Span.Slice(((s + 1) * len - 1) * vocab, vocab);
                    int tok = Sampler.Next(row, seen[s], o, rng);
                    generated[s].Add(tok);
                    seen[s].Add(tok);
                    next[s] = tok;
                    if (o.EosTokenIds.Contains(tok)) reason[s] = "eos";
                    else if (o.StopStrings.Count > 0 && o.StopStrings.Any(decode!(generated[s].ToArray()).Contains)) reason[s] = "stop";
                }
                if (reason.All(r => r is not null)) break;
                for (int s = 0; s < n; s++) fed[s].Add(next[s]);
                ids = (int[])next.Clone();
                len = 1;
            }
            return generated.Select((g, s) => Finish(g.ToArray(), reason[s] ?? "length", o, decode)).ToList();
        }
        finally
        {
            foreach (var c in caches) c.Dispose();
        }
    }

    internal static Completion Finish(int[] ids, string reason, SamplingOptions o, Func<int[], string>? decode)
    {
        if (decode is null) return new Completion(ids, null, reason);
        var text = decode(reason == "eos" ? ids[..^1] : ids);
        if (reason == "stop")
        {
            int cut = o.StopStrings.Select(s => text.IndexOf(s, StringComparison.Ordinal)).Where(i => i >= 0).Min();
            text = text[..cut];
        }
        return new Completion(ids, text, reason);
    }
}
