namespace Distill.Text.Model;

/// <summary>One entry of tokenizer.json "added_tokens".</summary>
public sealed record AddedToken(int Id, string Content, bool Special, bool LStrip, bool RStrip, bool SingleWord, bool Normalized);

/// <summary>
/// Splits text on added tokens before the model sees it, as Rust's AddedVocabulary does:
/// leftmost-longest matching ("&lt;|im_start|&gt;" wins over a shorter token at the same place),
/// single_word tokens only between non-word characters, lstrip/rstrip swallowing whitespace on
/// that side. Tokens with normalized=false are matched on the original text, the others on the
/// normalized text (the caller runs the two passes).
/// Example: "a&lt;|endoftext|&gt;b" → [("a"), (50256, 1..14), ("b")].
/// </summary>
public sealed class AddedVocabulary
{
    readonly Dictionary<int, AddedToken[]> _byFirst; // first code point → tokens, longest first
    readonly Dictionary<AddedToken, int[]> _cps = new();

    public AddedVocabulary(IEnumerable<AddedToken> tokens)
    {
        Tokens = tokens.ToArray();
        foreach (var t in Tokens) _cps[t] = CodePoints.From(t.Content);
        _byFirst = Tokens.Where(t => t.Content.Length > 0)
            .GroupBy(t => _cps[t][0])
            .ToDictionary(g => g.Key, g => g.OrderByDescending(t => _cps[t].Length).ToArray());
    }

    public IReadOnlyList<AddedToken> Tokens { get; }
    public bool IsEmpty => Tokens.Count == 0;

    /// <summary>Matches of tokens with Normalized == <paramref name="normalized"/> in cps[0..length), non-overlapping, left to right.</summary>
    public List<(AddedToken Token, int Start, int End)> Find(int[] cps, int length, bool normalized)
    {
        var result = new List<(AddedToken, int, int)>();
        int i = 0, floor = 0;
        while (i < length)
        {
            AddedToken? found = null;
            if (_byFirst.TryGetValue(cps[i], out var candidates))
                foreach (var t in candidates)
                {
                    if (t.Normalized != normalized) continue;
                    var c = _cps[t];
                    if (i + c.Length > length || !cps.AsSpan(i, c.Length).SequenceEqual(c)) continue;
                    if (t.SingleWord && ((i > 0 && IsWordChar(cps[i - 1])) || (i + c.Length < length && IsWordChar(cps[i + c.Length])))) continue;
                    found = t; break;
                }
            if (found == null) { i++; continue; }
            int start = i, end = i + _cps[found].Length;
            if (found.LStrip) while (start > floor && CodePoints.IsWhiteSpace(cps[start - 1])) start--;
            if (found.RStrip) while (end < length && CodePoints.IsWhiteSpace(cps[end])) end++;
            result.Add((found, start, end));
            i = floor = end;
        }
        return result;
    }

    static bool IsWordChar(int cp) => cp == '_' || System.Text.Rune.IsLetterOrDigit(new System.Text.Rune(cp));
}
