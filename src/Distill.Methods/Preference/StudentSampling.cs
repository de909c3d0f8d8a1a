using System.Text.Json.Nodes;
using Distill.Models;
using Distill.Models.Generation;
using Distill.Text;

namespace Distill.Methods.Preference;

/// <summary>
/// How the local engine samples answers for preference pairs: n per prompt, temperature, top-p, top-k, the answer
/// budget, and the base seed. Every answer's own seed is derived from (seed, iteration, prompt index), so the rejected
/// side of DPO-KD online iteration k is the same whether the run was interrupted or not (dpo-kd.txt §2.2).
/// </summary>
public sealed record SamplingSettings(int N = 1, float Temperature = 1f, float TopP = 1f, int TopK = 0, int MaxNewTokens = 128, ulong Seed = 0)
{
    public void Validate() => Options(0, 0).Validate();

    /// <summary>The seed of prompt <paramref name="promptIndex"/> at <paramref name="iteration"/>: a SplitMix64 mix, so nearby prompts get unrelated streams.</summary>
    public ulong SeedFor(int iteration, int promptIndex)
    {
        ulong z = Seed + 0x9E3779B97F4A7C15UL * (ulong)(iteration + 1) + 0xBF58476D1CE4E5B9UL * (ulong)(promptIndex + 1);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    public SamplingOptions Options(int iteration, int promptIndex, IReadOnlyList<int>? eos = null) => new()
    {
        N = N, Temperature = Temperature, TopP = TopP, TopK = TopK, MaxNewTokens = MaxNewTokens,
        Seed = SeedFor(iteration, promptIndex), EosTokenIds = eos ?? [],
    };

    /// <summary>The settings as provenance (pairs.jsonl's "sampling" field without the per-answer seed).</summary>
    public JsonObject ToJson() => new()
    {
        ["n"] = N, ["temperature"] = Temperature, ["top_p"] = TopP, ["top_k"] = TopK, ["max_new_tokens"] = MaxNewTokens, ["seed"] = Seed,
    };
}

/// <summary>One sampled answer: its text, whether it ended at EOS or ran out of budget ("length" = truncated), and its seed.</summary>
public sealed record SampledAnswer(int PromptIndex, int SampleIndex, string Text, string FinishReason, ulong Seed)
{
    public bool Truncated => FinishReason == "length";
}

/// <summary>
/// Samples answers with the local engine (the student, or a local teacher in PLaD), with whatever adapter the model
/// carries switched on: the current policy. Prompts are encoded as training encodes them (TrainingJsonl: the
/// tokenizer's special tokens added), so the pairs score exactly what was sampled.
/// </summary>
public static class LocalSampler
{
    public static List<SampledAnswer> Sample(CausalLM model, Tokenizer tokenizer, IReadOnlyList<string> prompts, SamplingSettings settings, int iteration,
        IProgress<int>? progress = null, CancellationToken ct = default)
    {
        settings.Validate();
        var answers = new List<SampledAnswer>(prompts.Count * settings.N);
        for (int i = 0; i < prompts.Count; i++)
        {
            ct.ThrowIfCancellationRequested();
            var ids = tokenizer.EncodeToIds(prompts[i], addSpecialTokens: true).ToArray();
            if (ids.Length == 0) throw new ArgumentException($"prompt {i} encodes to no tokens; the first answer token needs a context");
            var o = settings.Options(iteration, i, model.Config.EosTokenIds);
            var completions = Generator.Generate(model, ids, o, x => tokenizer.Decode(x, skipSpecialTokens: true));
            for (int s = 0; s < completions.Count; s++)
                answers.Add(new SampledAnswer(i, s, completions[s].Text ?? "", completions[s].FinishReason, o.Seed));
            progress?.Report(i + 1);
        }
        return answers;
    }
}
