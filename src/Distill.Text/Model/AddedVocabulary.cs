using System.Numerics;
using Distill.Text.Normalizer;

namespace Distill.Text.Model;

/// <summary>One entry of tokenizer.json "added_tokens".</summary>
public sealed record AddedToken(int Id, string Content, bool Special, bool LStrip, bool RStrip, bool SingleWord, bool Normalized);

/// <summary>One added token found in a text: [Start, End) includes the whitespace lstrip/rstrip swallowed.</summary>
public readonly record struct AddedMatch(AddedToken Token, int Start, int End);

/// <summary>
/// Splits text on added tokens before the model sees it, as Rust's AddedVocabulary::find_matches
/// (tokenizers/src/tokenizer/added_vocabulary.rs) does: an Aho-Corasick scan with leftmost-longest
/// semantics over the token patterns; a single_word match whose neighbour is a word character
/// (the regex crate's Unicode \w) is discarded and the scan resumes after it (a shorter token at
/// the same place is not tried); lstrip/rstrip widen the match over White_Space, lstrip no further
/// left than the previous match's end; the scan resumes at the unwidened end, so an rstrip'd match
/// may overlap the next one exactly as in Rust. Tokens with normalized=false are matched on the
/// original text; the others on the normalized text, their pattern being their content passed
/// through the tokenizer's normalizer (Rust refresh_added_tokens); the caller runs the two passes.
/// Example: "a&lt;|endoftext|&gt;b" → [(50256, 1..14)].
/// </summary>
public sealed class AddedVocabulary
{
    readonly Dictionary<int, (AddedToken Token, int[] Pattern)[]>[] _byFirst; // [normalized ? 1 : 0]: first code point → tokens, longest first
    readonly bool[][] _firstBmp; // [normalized ? 1 : 0][cp]: some token starts with BMP code point cp (skips the dictionary on most text)

    /// <summary>
    /// A token with normalized=true is kept with its content normalized: Rust matches that form and
    /// also reports it as the token's string (id_to_token, decode), e.g. "Hello" under Lowercase → "hello".
    /// </summary>
    public AddedVocabulary(IEnumerable<AddedToken> tokens, INormalizer? normalizer = null)
    {
        var list = tokens.ToList();
        SpecialContents = list.Where(t => t.Special && t.Content.Length > 0).Select(t => t.Content).ToHashSet();
        Tokens = list.Select(t => t.Normalized && normalizer != null ? t with { Content = Normalize(t.Content, normalizer) } : t).ToArray();
        _byFirst = [Index(false), Index(true)];
        _firstBmp = [.. _byFirst.Select(d => { var a = new bool[0x10000]; foreach (int cp in d.Keys) if (cp < 0x10000) a[cp] = true; return a; })];
    }

    public IReadOnlyList<AddedToken> Tokens { get; }
    /// <summary>
    /// Contents of the special tokens as written in the file (Rust special_tokens_set): decode with
    /// skip_special_tokens drops a token whose string is in it, so a special normalized token whose
    /// normalized form differs ("&lt;MASK&gt;" → "&lt;mask&gt;") is not dropped, as in Rust.
    /// </summary>
    public IReadOnlySet<string> SpecialContents { get; }
    public bool IsEmpty => Tokens.Count == 0;
    public bool HasNormalized => _byFirst[1].Count > 0;

    Dictionary<int, (AddedToken, int[])[]> Index(bool normalized) => Tokens
        .Where(t => t.Normalized == normalized && t.Content.Length > 0)
        .Select(t => (Token: t, Pattern: CodePoints.From(t.Content)))
        .Where(p => p.Pattern.Length > 0)
        .GroupBy(p => p.Pattern[0])
        .ToDictionary(g => g.Key, g => g.OrderByDescending(p => p.Pattern.Length).Select(p => (p.Token, p.Pattern)).ToArray());

    static string Normalize(string content, INormalizer normalizer)
    {
        var cps = CodePoints.From(content);
        var text = NormalizedText.FromOriginal(cps, 0, cps.Length);
        normalizer.Normalize(text);
        return text.ToString();
    }

    /// <summary>Matches of tokens with Normalized == <paramref name="normalized"/> in cps[0..length), left to right.</summary>
    public List<AddedMatch> Find(int[] cps, int length, bool normalized) => Find(cps.AsSpan(0, length), normalized);

    /// <summary>
    /// The same over UTF-16 text without surrogates (one char per code point), for the ids-only path.
    /// Example: Find("a&lt;|endoftext|&gt;b") → [(50256, 1, 14)].
    /// </summary>
    public List<AddedMatch> Find(ReadOnlySpan<char> text, bool normalized) => Find<char>(text, normalized);

    List<AddedMatch> Find<T>(ReadOnlySpan<T> cps, bool normalized) where T : unmanaged, IBinaryInteger<T>
    {
        var result = new List<AddedMatch>();
        var byFirst = _byFirst[normalized ? 1 : 0];
        if (byFirst.Count == 0) return result;
        var firstBmp = _firstBmp[normalized ? 1 : 0];
        int length = cps.Length;
        int i = 0, floor = 0; // floor: Rust's start_offset, the end of the previous accepted match
        while (i < length)
        {
            int cp = int.CreateTruncating(cps[i]);
            if ((cp < 0x10000 && !firstBmp[cp]) || !byFirst.TryGetValue(cp, out var candidates)) { i++; continue; }
            (AddedToken Token, int[] Pattern)? found = null;
            foreach (var c in candidates)
                if (StartsWith(cps, i, c.Pattern)) { found = c; break; }
            if (found is not { } f) { i++; continue; }
            int start = i, stop = i + f.Pattern.Length;
            i = stop;
            if (f.Token.SingleWord && ((start > 0 && CodePoints.IsWordChar(int.CreateTruncating(cps[start - 1])))
                    || (stop < length && CodePoints.IsWordChar(int.CreateTruncating(cps[stop])))))
                continue;
            if (f.Token.LStrip)
            {
                while (start > 0 && CodePoints.IsWhiteSpace(int.CreateTruncating(cps[start - 1]))) start--;
                start = Math.Max(start, floor);
            }
            if (f.Token.RStrip) while (stop < length && CodePoints.IsWhiteSpace(int.CreateTruncating(cps[stop]))) stop++;
            result.Add(new AddedMatch(f.Token, start, stop));
            floor = stop;
        }
        return result;
    }

    static bool StartsWith<T>(ReadOnlySpan<T> text, int at, int[] pattern) where T : unmanaged, IBinaryInteger<T>
    {
        if (at + pattern.Length > text.Length) return false;
        for (int k = 0; k < pattern.Length; k++) if (int.CreateTruncating(text[at + k]) != pattern[k]) return false;
        return true;
    }
}
