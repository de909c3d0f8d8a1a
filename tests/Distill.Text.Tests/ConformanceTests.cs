using System.Text;
using System.Text.Json;

namespace Distill.Text.Tests;

/// <summary>
/// Zero mismatches against Hugging Face tokenizers 0.23.2 (npm Node binding of the Rust library):
/// ids, tokens, offsets and decode (skip_special_tokens false and true) for every corpus string,
/// with and without special tokens; EncodeToIds (its own ids-only path) gives the same ids. Expected files: tools/tokenizers/make_expected.mjs.
/// </summary>
public class ConformanceTests
{
    public static TheoryData<string> Names => new() { "gpt2", "qwen3", "mistral_nemo", "llama2", "llama3", "qwen2_5", "trained", "flags" };

    [Theory]
    [MemberData(nameof(Names))]
    public void MatchesHuggingFaceTokenizers(string name)
    {
        var tok = TestPaths.Load(name);
        // "flags" (every added-token flag under NFKC+Lowercase) also runs corpus_flags.jsonl, appended.
        var corpus = Corpus("corpus.jsonl").Concat(name == "flags" ? Corpus("corpus_flags.jsonl") : []).ToArray();
        var failures = new StringBuilder();
        int lines = 0, bad = 0;
        foreach (var line in File.ReadLines(TestPaths.Expected(name)))
        {
            lines++;
            var e = JsonDocument.Parse(line).RootElement;
            string text = corpus[e.GetProperty("i").GetInt32()];
            bool special = e.GetProperty("special").GetBoolean();
            var ids = e.GetProperty("ids").EnumerateArray().Select(x => x.GetInt32()).ToArray();
            var tokens = e.GetProperty("tokens").EnumerateArray().Select(x => x.GetString()!).ToArray();
            var offsets = e.GetProperty("offsets").EnumerateArray().Select(x => x.GetInt32()).ToArray();
            var enc = tok.Encode(text, special);
            var gotOffsets = enc.Offsets.SelectMany(o => new[] { o.Start, o.End }).ToArray();
            var problems = new List<string>();
            if (!enc.Ids.SequenceEqual(ids)) problems.Add($"ids {Show(enc.Ids)} != {Show(ids)}");
            else if (!enc.Tokens.SequenceEqual(tokens)) problems.Add($"tokens {Show(enc.Tokens)} != {Show(tokens)}");
            else if (!gotOffsets.SequenceEqual(offsets)) problems.Add($"offsets {Show(gotOffsets)} != {Show(offsets)}");
            var fastIds = tok.EncodeToIds(text, special); // the cached ids-only path (WordIdPath) where the pipeline allows it
            if (!fastIds.SequenceEqual(ids)) problems.Add($"EncodeToIds {Show(fastIds)} != {Show(ids)}");
            string decode = tok.Decode(ids), decodeSkip = tok.Decode(ids, skipSpecialTokens: true);
            if (decode != e.GetProperty("decode").GetString()) problems.Add($"decode {JsonSerializer.Serialize(decode)} != {JsonSerializer.Serialize(e.GetProperty("decode").GetString())}");
            if (decodeSkip != e.GetProperty("decode_skip").GetString()) problems.Add($"decode_skip {JsonSerializer.Serialize(decodeSkip)} != {JsonSerializer.Serialize(e.GetProperty("decode_skip").GetString())}");
            if (problems.Count > 0 && ++bad <= 8)
                failures.AppendLine($"{JsonSerializer.Serialize(text)} special={special}: {string.Join("; ", problems)}");
        }
        Assert.True(lines > 1000, $"{name}: only {lines} expected lines");
        Assert.True(bad == 0, $"{name}: {bad}/{lines} mismatches\n{failures}");
    }

    [Fact]
    public void ByteLevelTokenizersTakeTheIdsOnlyPath()
    {
        // So the EncodeToIds comparison above covers WordIdPath for these (Llama-2 is SentencePiece-style, flags has normalized added tokens).
        foreach (var name in new[] { "gpt2", "qwen3", "qwen2_5", "mistral_nemo", "llama3", "trained" }) Assert.True(TestPaths.Load(name).HasWordIdPath, name);
        foreach (var name in new[] { "llama2", "flags" }) Assert.False(TestPaths.Load(name).HasWordIdPath, name);
    }

    static IEnumerable<string> Corpus(string file) => File.ReadLines(Path.Combine(TestPaths.RepoRoot, "tools", "tokenizers", file))
        .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("text").GetString()!);

    static string Show<T>(IEnumerable<T> xs) => "[" + string.Join(",", xs.Take(40)) + "]";
}
