using System.Text.Json;

namespace Distill.Models.Tests.Architectures;

/// <summary>expected.json written by reference/make_reference.py for one tiny checkpoint.</summary>
sealed record ReferenceOutput(int[] InputIds, int Batch, int[] Shape, float[] Logits, int[] GreedyPrompt, int[] GreedyTokens,
    int[] LogprobPrompt, int[] LogprobCompletion, double LogprobSum, double[] PerToken)
{
    public static string Dir(string name) => TestPaths.Reference("models", name);

    public static ReferenceOutput Load(string name)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Dir(name), "expected.json")));
        var r = doc.RootElement;
        int[] Ints(JsonElement e) => e.EnumerateArray().Select(x => x.GetInt32()).ToArray();
        var ids = r.GetProperty("input_ids").EnumerateArray().ToArray();
        return new ReferenceOutput(
            ids.SelectMany(Ints).ToArray(), ids.Length, Ints(r.GetProperty("shape")),
            r.GetProperty("logits").EnumerateArray().Select(x => (float)x.GetDouble()).ToArray(),
            Ints(r.GetProperty("greedy").GetProperty("prompt")), Ints(r.GetProperty("greedy").GetProperty("tokens")),
            Ints(r.GetProperty("logprob").GetProperty("prompt")), Ints(r.GetProperty("logprob").GetProperty("completion")),
            r.GetProperty("logprob").GetProperty("sum").GetDouble(),
            r.GetProperty("logprob").GetProperty("per_token").EnumerateArray().Select(x => x.GetDouble()).ToArray());
    }
}
