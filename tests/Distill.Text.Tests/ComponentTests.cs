using System.Text.Json;
using System.Text.RegularExpressions;
using Distill.Text.Decoder;
using Distill.Text.Model;
using Distill.Text.Normalizer;
using Distill.Text.PreTokenizer;

namespace Distill.Text.Tests;

/// <summary>Each pipeline component on worked examples (the Rust tokenizers doc comments where they have one).</summary>
public class ComponentTests
{
    static List<string> Pieces(IPreTokenizer p, string text)
    {
        var cps = CodePoints.From(text);
        var pieces = new List<NormalizedText> { NormalizedText.FromOriginal(cps, 0, cps.Length) };
        p.PreTokenize(pieces);
        return pieces.Select(x => x.ToString()).ToList();
    }

    [Theory] // Rust SplitDelimiterBehavior docs, "the-final--countdown" split on '-'
    [InlineData(SplitBehavior.Removed, "the|final|countdown")]
    [InlineData(SplitBehavior.Isolated, "the|-|final|-|-|countdown")]
    [InlineData(SplitBehavior.MergedWithPrevious, "the-|final-|-|countdown")]
    [InlineData(SplitBehavior.MergedWithNext, "the|-final|-|-countdown")]
    [InlineData(SplitBehavior.Contiguous, "the|-|final|--|countdown")]
    public void SplitBehaviors(SplitBehavior behavior, string expected)
    {
        var split = new SplitPreTokenizer(new Regex("-"), behavior, invert: false);
        Assert.Equal(expected, string.Join("|", Pieces(split, "the-final--countdown")));
    }

    [Fact]
    public void ByteLevelSplitsLikeGpt2AndMapsBytes()
    {
        // ' ' 0x20 → 'Ġ' U+0120, '\n' → 'Ċ'; 'é' (C3 A9) → "Ã©"; 256 distinct symbols.
        Assert.Equal(256, ByteLevelTable.ByteToChar.Distinct().Count());
        Assert.Equal(["Hello", "Ġworld", "'s", "Ċ", "Ã©"], Pieces(new ByteLevelPreTokenizer(false, true), "Hello world's\né"));
        Assert.Equal(["Ġhi"], Pieces(new ByteLevelPreTokenizer(addPrefixSpace: true, useRegex: true), "hi"));
        // Astral letters stay letters: "𝐀𝐁c" is one \p{L}+ piece (4+4+1 bytes).
        Assert.Single(Pieces(new ByteLevelPreTokenizer(false, true), "𝐀𝐁c"));
    }

    [Fact]
    public void MetaspaceReplacesAndSplits()
    {
        Assert.Equal(["▁Hey", "▁friend!"], Pieces(new MetaspacePreTokenizer("▁", "always", true), "Hey friend!"));
        Assert.Equal(["Hey▁friend!"], Pieces(new MetaspacePreTokenizer("▁", "never", false), "Hey friend!"));
    }

    [Fact]
    public void NfcComposesAndKeepsTheStartersAlignment()
    {
        var cps = CodePoints.From("cafe\u0301!");
        var t = NormalizedText.FromOriginal(cps, 0, cps.Length);
        new UnicodeNormalizer(System.Text.NormalizationForm.FormC).Normalize(t);
        Assert.Equal("café!", t.ToString());
        Assert.Equal((3, 4), t.Original(3, 4)); // é ← 'e' only, as Rust reports
        Assert.Equal((5, 6), t.Original(4, 5)); // '!' — the combining mark (original 4) is covered by no token
        var d = NormalizedText.FromOriginal(CodePoints.From("é각"), 0, 2);
        new UnicodeNormalizer(System.Text.NormalizationForm.FormD).Normalize(d);
        Assert.Equal("e\u0301\u1100\u1161\u11A8", d.ToString());
    }

    static BpeModel Tiny(bool byteFallback = false) => new(
        new Dictionary<string, int> { ["a"] = 0, ["b"] = 1, ["c"] = 2, ["ab"] = 3, ["abc"] = 4, ["aa"] = 5, ["<unk>"] = 6, ["<0xC3>"] = 7, ["<0xA9>"] = 8 },
        [("a", "b"), ("ab", "c"), ("a", "a")], "<unk>", null, null, fuseUnk: true, byteFallback, ignoreMerges: false);

    [Fact]
    public void BpeMergesByRankThenLeftmost()
    {
        // "abc": (a,b) rank 0 → ab, then (ab,c) rank 1 → abc.
        Assert.Equal([new WordToken(4, 0, 3)], Tiny().Tokenize(CodePoints.From("abc")));
        // "aaa": two (a,a) candidates of equal rank: the leftmost merges → [aa, a].
        Assert.Equal([5, 0], Tiny().Tokenize(CodePoints.From("aaa")).Select(t => t.Id));
    }

    [Fact]
    public void BpeByteFallbackAndFusedUnk()
    {
        // 'é' is not in the vocabulary: its UTF-8 bytes C3 A9 become <0xC3> <0xA9>, both covering code point 1.
        Assert.Equal([new WordToken(0, 0, 1), new WordToken(7, 1, 2), new WordToken(8, 1, 2)], Tiny(byteFallback: true).Tokenize(CodePoints.From("aé")));
        // Without byte fallback two unknown code points fuse into one <unk> (fuse_unk).
        Assert.Equal([new WordToken(6, 0, 2), new WordToken(0, 2, 3)], Tiny().Tokenize(CodePoints.From("xya")));
    }

    [Fact]
    public void DecodersFollowRust()
    {
        // A run of byte tokens is decoded as one UTF-8 string, or, when invalid, one U+FFFD per byte.
        Assert.Equal(["a", "é", "b"], new ByteFallbackDecoder().DecodeChain(["a", "<0xC3>", "<0xA9>", "b"]));
        Assert.Equal(["\uFFFD", "\uFFFD", "\uFFFD", "b"], new ByteFallbackDecoder().DecodeChain(["<0xC3>", "<0xA9>", "<0xC3>", "b"]));
        Assert.Equal(["hi", "there "], new StripDecoder(' ', 1, 0).DecodeChain([" hi", " there "]));
        Assert.Equal(["Hey", " friend"], new MetaspaceDecoder("▁", "always").DecodeChain(["▁Hey", "▁friend"]));
        Assert.Equal(["Hello world"], new ByteLevelDecoder().DecodeChain(["Hello", "Ġworld"]));
    }

    [Fact]
    public void AddedTokensLongestFirstWithStrip()
    {
        var v = new AddedVocabulary([new AddedToken(1, "<a>", true, false, false, false, false), new AddedToken(2, "<a><b>", true, false, false, false, false),
            new AddedToken(3, "X", false, LStrip: true, RStrip: true, SingleWord: false, Normalized: false)]);
        var cps = CodePoints.From("q<a><b>r  X  s<a>");
        var found = v.Find(cps, cps.Length, normalized: false).Select(m => (m.Token.Id, m.Start, m.End)).ToList();
        Assert.Equal([(2, 1, 7), (3, 8, 13), (1, 14, 17)], found);
    }

    [Theory]
    [InlineData("{\"model\": {\"type\": \"WordPiece\", \"vocab\": {}}}", "model type \"WordPiece\"")]
    [InlineData("{\"normalizer\": {\"type\": \"BertNormalizer\"}, \"model\": {\"type\": \"BPE\", \"vocab\": {}, \"merges\": []}}", "normalizer type \"BertNormalizer\"")]
    [InlineData("{\"pre_tokenizer\": {\"type\": \"UnicodeScripts\"}, \"model\": {\"type\": \"BPE\", \"vocab\": {}, \"merges\": []}}", "pre_tokenizer type \"UnicodeScripts\"")]
    [InlineData("{\"decoder\": {\"type\": \"WordPiece\"}, \"model\": {\"type\": \"BPE\", \"vocab\": {}, \"merges\": []}}", "decoder type \"WordPiece\"")]
    [InlineData("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": [\"a b\"]}}", "\"b\" is not in the vocabulary")]
    public void UnsupportedOrBrokenFilesAreNamed(string json, string named)
    {
        using var doc = JsonDocument.Parse(json);
        var ex = Record.Exception(() => TokenizerLoader.FromJson(doc.RootElement, "x/tokenizer.json"));
        Assert.NotNull(ex);
        Assert.Contains(named, ex.Message);
        Assert.Contains("x/tokenizer.json", ex.Message);
    }

    [Fact]
    public void PossessiveQuantifiersBecomeAtomicGroups()
    {
        var r = RegexTranslator.Translate(@"\p{L}++|\s+(?!\S)", "test");
        Assert.Equal(["ab", " "], r.Matches("ab  c").Select(m => m.Value).Take(2));
    }
}
