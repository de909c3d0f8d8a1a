using Distill.Text.Model;
using Distill.Text.Normalizer;

namespace Distill.Text.Tests;

/// <summary>
/// Per-code-point properties the tokenizer shares with Rust tokenizers, checked on all 1,112,064
/// Unicode scalar values against files written by HF `tokenizers` 0.23.2 itself
/// (tools/tokenizers/make_lowercase_expected.mjs, make_word_chars_expected.mjs).
/// </summary>
public class UnicodePropertyTests
{
    static IEnumerable<int> ScalarValues() => Enumerable.Range(0, 0x110000).Where(cp => cp is < 0xD800 or > 0xDFFF);

    static int[] Hex(string line) => line.Split(' ').Select(x => Convert.ToInt32(x, 16)).ToArray();

    [Fact]
    public void LowercaseMatchesRustOnEveryCodePoint()
    {
        var expected = File.ReadLines(Path.ChangeExtension(TestPaths.Expected("lowercase"), ".txt")).Select(Hex).ToDictionary(p => p[0], p => p[1..]);
        Assert.True(expected.Count > 1400, $"only {expected.Count} lines in lowercase.txt");
        var bad = new List<string>();
        foreach (int cp in ScalarValues())
        {
            int[] want = expected.TryGetValue(cp, out var w) ? w : [cp];
            var text = NormalizedText.FromOriginal([cp], 0, 1);
            new LowercaseNormalizer().Normalize(text);
            if (!text.Cps.AsSpan(0, text.Length).SequenceEqual(want) || text.AlignStart.AsSpan(0, text.Length).ContainsAnyExcept(0))
                bad.Add($"U+{cp:X4} → {string.Join(" ", text.Cps.Take(text.Length).Select(c => c.ToString("X4")))}, Rust {string.Join(" ", want.Select(c => c.ToString("X4")))}");
        }
        Assert.True(bad.Count == 0, $"{bad.Count} code points differ:\n{string.Join("\n", bad.Take(20))}");
    }

    [Fact]
    public void WordCharsMatchRustRegexW()
    {
        var word = new HashSet<int>();
        foreach (var r in File.ReadLines(Path.ChangeExtension(TestPaths.Expected("word_chars"), ".txt")).Select(Hex))
            for (int cp = r[0]; cp <= r[1]; cp++) word.Add(cp);
        Assert.True(word.Count > 100_000, $"only {word.Count} word characters in word_chars.txt");
        var bad = ScalarValues().Where(cp => CodePoints.IsWordChar(cp) != word.Contains(cp)).Take(20).ToList();
        Assert.True(bad.Count == 0, "differ: " + string.Join(", ", bad.Select(cp => $"U+{cp:X4} (Rust {word.Contains(cp)})")));
    }

    [Fact]
    public void DottedCapitalIBecomesTwoCodePointsAlignedToIt()
    {
        var text = NormalizedText.FromOriginal(CodePoints.From("aİΣ"), 0, 3);
        new LowercaseNormalizer().Normalize(text);
        Assert.Equal("ai\u0307σ", text.ToString()); // no final-sigma rule, as Rust's NormalizedString::lowercase
        Assert.Equal([0, 1, 1, 2], text.AlignStart);
        Assert.Equal([1, 2, 2, 3], text.AlignEnd);
    }

    [Fact]
    public void RefusedSingleWordMatchHidesShorterTokenAtSamePlace()
    {
        // Rust's Aho-Corasick scan yields "lower" (leftmost-longest) in "lowers", discards it
        // (single_word, "s" follows) and resumes after it: "low" is not matched there.
        var v = new AddedVocabulary([new AddedToken(1, "low", false, false, false, false, false),
            new AddedToken(2, "lower", false, false, false, SingleWord: true, Normalized: false)]);
        var cps = CodePoints.From("lowers lower low");
        Assert.Equal([(2, 7, 12), (1, 13, 16)], v.Find(cps, cps.Length, normalized: false).Select(m => (m.Token.Id, m.Start, m.End)));
    }

    [Fact]
    public void NormalizedTokensMatchTheirNormalizedContent()
    {
        var normalizer = new SequenceNormalizer([new UnicodeNormalizer(System.Text.NormalizationForm.FormKC), new LowercaseNormalizer()]);
        var v = new AddedVocabulary([new AddedToken(1, "ﬁRe", false, false, false, false, Normalized: true)], normalizer);
        var text = NormalizedText.FromOriginal(CodePoints.From("FIRE fire"), 0, 9);
        normalizer.Normalize(text);
        Assert.Equal([(0, 4), (5, 9)], v.Find(text.Cps, text.Length, normalized: true).Select(m => (m.Start, m.End)));
    }
}
