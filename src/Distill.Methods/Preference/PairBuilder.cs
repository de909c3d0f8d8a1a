using System.Text.Json.Nodes;
using Distill.Data.Jsonl;

namespace Distill.Methods.Preference;

/// <summary>
/// Builds pseudo-preference pairs: for each prompt, the preferred answer (the teacher's) against each sampled answer
/// (the student's), as DPO-KD (§2.1: chosen = teacher, rejected = student) and PLaD (§4.2: y⁺ = teacher, y⁻ = student)
/// do. A pair is dropped — and counted — when a side is empty (whitespace only), when a side was cut at the token
/// budget (it would teach "stop mid-answer" or "never stop"), or when both sides are the same text (DPO's gradient
/// is then zero and the reference-free PLaD losses would push a sequence against itself).
/// </summary>
public static class PairBuilder
{
    /// <param name="chosen">one preferred answer per prompt (null = none: every pair of that prompt counts as empty-chosen).</param>
    /// <param name="dropTruncated">false keeps answers cut at the budget (tiny smoke models rarely emit EOS); they stay marked in the provenance.</param>
    /// <param name="rejected">sampled answers, any number per prompt, matched by <see cref="SampledAnswer.PromptIndex"/>.</param>
    public static (List<PreferencePair> Pairs, PairStats Stats) Build(IReadOnlyList<string> prompts, IReadOnlyList<Answer?> chosen,
        IReadOnlyList<SampledAnswer> rejected, string rejectedModel, SamplingSettings sampling, int iteration, IReadOnlyList<string?>? references = null,
        bool dropTruncated = true)
    {
        if (chosen.Count != prompts.Count) throw new ArgumentException($"{prompts.Count} prompts but {chosen.Count} chosen answers");
        if (references is not null && references.Count != prompts.Count) throw new ArgumentException($"{prompts.Count} prompts but {references.Count} references");
        int emptyC = 0, emptyR = 0, truncC = 0, truncR = 0, same = 0;
        var pairs = new List<PreferencePair>();
        foreach (var r in rejected)
        {
            if ((uint)r.PromptIndex >= (uint)prompts.Count) throw new ArgumentException($"sampled answer for prompt {r.PromptIndex}, but there are {prompts.Count} prompts");
            var c = chosen[r.PromptIndex];
            if (c is null || string.IsNullOrWhiteSpace(c.Text)) { emptyC++; continue; }
            if (string.IsNullOrWhiteSpace(r.Text)) { emptyR++; continue; }
            if (dropTruncated && c.Truncated == true) { truncC++; continue; }
            if (dropTruncated && r.Truncated) { truncR++; continue; }
            if (c.Text.Trim() == r.Text.Trim()) { same++; continue; }
            var s = sampling.ToJson();
            s["sample_index"] = r.SampleIndex;
            s["answer_seed"] = r.Seed;
            s["finish_reason"] = r.FinishReason;
            pairs.Add(new PreferencePair(r.PromptIndex, prompts[r.PromptIndex], c, new Answer(r.Text, rejectedModel, r.Truncated, s), iteration)
            {
                Reference = references?[r.PromptIndex],
            });
        }
        return (pairs, new PairStats(rejected.Count, pairs.Count, emptyC, emptyR, truncC, truncR, same));
    }

    /// <summary>Writes the pairs (TRL columns + provenance) and, beside them, NAME.stats.json with the drop counts; both atomically.</summary>
    public static void Write(string path, IReadOnlyList<PreferencePair> pairs, PairStats stats, JsonObject? extra = null)
    {
        using (var w = new JsonlWriter(path))
        {
            foreach (var p in pairs) w.Write(p.ToJson());
            w.Commit();
        }
        var json = stats.ToJson();
        if (extra is not null)
            foreach (var (k, v) in extra) json[k] = v?.DeepClone();
        var statsPath = StatsPath(path);
        File.WriteAllText(statsPath + ".tmp", json.ToJsonString(new() { WriteIndented = true }));
        File.Move(statsPath + ".tmp", statsPath, overwrite: true);
    }

    public static string StatsPath(string pairsPath) => Path.ChangeExtension(pairsPath, null) + ".stats.json";
}
