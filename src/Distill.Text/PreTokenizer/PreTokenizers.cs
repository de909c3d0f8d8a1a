using System.Text.RegularExpressions;

namespace Distill.Text.PreTokenizer;

/// <summary>A tokenizer.json "pre_tokenizer": splits (and may transform) pieces of normalized text.</summary>
public interface IPreTokenizer
{
    void PreTokenize(List<NormalizedText> pieces);
}

/// <summary>How a Split keeps the delimiter (Rust SplitDelimiterBehavior).</summary>
public enum SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous }

/// <summary>
/// Split by a regex (or literal). Regexes run on <see cref="CodePoints.CategoryProxy"/> so that
/// match indices are code point indices and astral letters still match \p{L}.
/// Example (Isolated, pattern " ?\p{L}+"): "hi you" → ["hi", " you"].
/// </summary>
public sealed class SplitPreTokenizer(Regex regex, SplitBehavior behavior, bool invert) : IPreTokenizer
{
    public Regex Regex { get; } = regex;
    public SplitBehavior Behavior => behavior;
    public bool Invert => invert;

    public void PreTokenize(List<NormalizedText> pieces)
    {
        var result = new List<NormalizedText>(pieces.Count * 4);
        var spans = new List<(int Start, int End, bool Match)>();
        foreach (var p in pieces)
        {
            spans.Clear();
            string proxy = CodePoints.CategoryProxy(p.Cps.AsSpan(0, p.Length));
            int last = 0;
            foreach (var m in Regex.EnumerateMatches(proxy)) // ValueMatch: no allocation per match
            {
                if (m.Length == 0) continue;
                if (m.Index > last) spans.Add((last, m.Index, invert));
                spans.Add((m.Index, m.Index + m.Length, !invert));
                last = m.Index + m.Length;
            }
            if (last < p.Length) spans.Add((last, p.Length, invert));
            Apply(p, spans, behavior, result);
        }
        pieces.Clear();
        pieces.AddRange(result);
    }

    /// <summary>Rust NormalizedString::split: "Match" spans are the delimiters.</summary>
    internal static void Apply(NormalizedText p, List<(int Start, int End, bool Match)> spans, SplitBehavior behavior, List<NormalizedText> result)
    {
        switch (behavior)
        {
            case SplitBehavior.Isolated:
                foreach (var s in spans) result.Add(p.Slice(s.Start, s.End));
                break;
            case SplitBehavior.Removed:
                foreach (var s in spans) if (!s.Match) result.Add(p.Slice(s.Start, s.End));
                break;
            case SplitBehavior.Contiguous:
                for (int i = 0; i < spans.Count;)
                {
                    int j = i + 1;
                    if (spans[i].Match) while (j < spans.Count && spans[j].Match) j++;
                    result.Add(p.Slice(spans[i].Start, spans[j - 1].End));
                    i = j;
                }
                break;
            case SplitBehavior.MergedWithPrevious:
            case SplitBehavior.MergedWithNext:
            {
                // Rust: fold over the spans (reversed for MergedWithNext); a delimiter that does not
                // follow another delimiter is glued onto the piece before it (after it).
                bool next = behavior == SplitBehavior.MergedWithNext;
                var merged = new List<(int Start, int End)>(spans.Count);
                bool previousMatch = false;
                for (int k = 0; k < spans.Count; k++)
                {
                    var s = spans[next ? spans.Count - 1 - k : k];
                    if (s.Match && !previousMatch && merged.Count > 0)
                        merged[^1] = next ? (s.Start, merged[^1].End) : (merged[^1].Start, s.End);
                    else merged.Add((s.Start, s.End));
                    previousMatch = s.Match;
                }
                if (next) merged.Reverse();
                foreach (var m in merged) result.Add(p.Slice(m.Start, m.End));
                break;
            }
        }
    }
}

/// <summary>
/// GPT-2's byte-level pre-tokenizer: optional prefix space, optional GPT-2 regex split, then every
/// UTF-8 byte becomes one printable code point (the bytes_to_unicode table; ' ' → 'Ġ').
/// </summary>
public sealed class ByteLevelPreTokenizer(bool addPrefixSpace, bool useRegex) : IPreTokenizer
{
    public const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";
    static readonly SplitPreTokenizer Gpt2Split = new(new Regex(Gpt2Pattern, RegexOptions.Compiled | RegexOptions.CultureInvariant), SplitBehavior.Isolated, false);
    internal static Regex Gpt2Regex => Gpt2Split.Regex;
    public bool AddPrefixSpace => addPrefixSpace;
    public bool UseRegex => useRegex;

    public void PreTokenize(List<NormalizedText> pieces)
    {
        if (addPrefixSpace)
            foreach (var p in pieces) if (p.Length > 0 && p.Cps[0] != ' ') p.Prepend(" ");
        if (useRegex) Gpt2Split.PreTokenize(pieces);
        foreach (var p in pieces) ToBytes(p);
    }

    /// <summary>Each code point → its UTF-8 bytes → byte-level code points, all aligned to the source code point.</summary>
    public static void ToBytes(NormalizedText p)
    {
        int n = 0;
        for (int i = 0; i < p.Length; i++) n += CodePoints.Utf8Length(p.Cps[i]);
        var cps = new int[n]; var s = new int[n]; var e = new int[n];
        Span<byte> buf = stackalloc byte[4];
        int k = 0;
        for (int i = 0; i < p.Length; i++)
        {
            int cp = p.Cps[i];
            int len = cp < 0x80 ? 1 : new System.Text.Rune(cp).EncodeToUtf8(buf);
            if (cp < 0x80) buf[0] = (byte)cp;
            for (int j = 0; j < len; j++, k++) { cps[k] = ByteLevelTable.ByteToChar[buf[j]]; s[k] = p.AlignStart[i]; e[k] = p.AlignEnd[i]; }
        }
        p.Cps = cps; p.AlignStart = s; p.AlignEnd = e; p.Length = n;
    }
}

/// <summary>Metaspace: spaces → "▁", prefix "▁" (prepend_scheme always / first / never), split before each "▁".</summary>
public sealed class MetaspacePreTokenizer(string replacement, string prependScheme, bool split) : IPreTokenizer
{
    readonly int _replacement = CodePoints.From(replacement)[0];

    public void PreTokenize(List<NormalizedText> pieces)
    {
        var result = new List<NormalizedText>();
        var spans = new List<(int, int, bool)>();
        foreach (var p in pieces)
        {
            var items = new List<(int, int)>(p.Length + 1);
            for (int i = 0; i < p.Length; i++) items.Add((p.Cps[i] == ' ' ? _replacement : p.Cps[i], i));
            p.Rebuild(items);
            bool isFirst = p.Length > 0 && p.AlignStart[0] == 0;
            if (p.Length > 0 && p.Cps[0] != _replacement && (prependScheme == "always" || (prependScheme == "first" && isFirst)))
                p.Prepend(replacement);
            if (!split) { result.Add(p); continue; }
            spans.Clear();
            int last = 0;
            for (int i = 0; i < p.Length; i++)
                if (p.Cps[i] == _replacement)
                {
                    if (i > last) spans.Add((last, i, false));
                    spans.Add((i, i + 1, true));
                    last = i + 1;
                }
            if (last < p.Length) spans.Add((last, p.Length, false));
            SplitPreTokenizer.Apply(p, spans, SplitBehavior.MergedWithNext, result);
        }
        pieces.Clear();
        pieces.AddRange(result);
    }
}

public sealed class SequencePreTokenizer(IReadOnlyList<IPreTokenizer> preTokenizers) : IPreTokenizer
{
    public IReadOnlyList<IPreTokenizer> PreTokenizers => preTokenizers;

    public void PreTokenize(List<NormalizedText> pieces)
    {
        foreach (var p in preTokenizers) p.PreTokenize(pieces);
    }
}
