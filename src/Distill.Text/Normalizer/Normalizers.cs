using System.Text;

namespace Distill.Text.Normalizer;

/// <summary>A tokenizer.json "normalizer": rewrites text before pre-tokenization, keeping alignments.</summary>
public interface INormalizer
{
    void Normalize(NormalizedText text);
}

/// <summary>
/// NFC/NFD/NFKC/NFKD. Alignment rule measured against Rust tokenizers: a composed code point keeps
/// the alignment of the starter it was composed onto ("e\u0301" → "é" aligned to 'e'); decomposed
/// code points all take the alignment of the code point they came from.
/// </summary>
public sealed class UnicodeNormalizer(NormalizationForm form) : INormalizer
{
    public NormalizationForm Form { get; } = form;

    public void Normalize(NormalizedText text)
    {
        // Fast path: below U+0300 every string is already NFC/NFD-stable except precomposed Latin-1 under D forms.
        bool simple = Form == NormalizationForm.FormC;
        for (int i = 0; i < text.Length && simple; i++) simple = text.Cps[i] < 0x300;
        if (simple) return;
        text.Rebuild(UnicodeNormalization.Normalize(text.Cps.AsSpan(0, text.Length), Form));
    }
}

/// <summary>
/// Lowercase as Rust tokenizers does it: char by char with Rust's char::to_lowercase — the full
/// Unicode lowercase mapping, so "İ" (U+0130) becomes "i\u0307" (both aligned to the "İ"), and no
/// context rule (Σ is always σ; Rust's str::to_lowercase final-sigma rule is not used by
/// NormalizedString::lowercase). .NET's invariant simple mapping is used for the rest, with the
/// code points where it differs from Rust's: U+0130 (SpecialCasing's one unconditional lowercase
/// mapping, which .NET's invariant casing leaves alone) and the Unicode 17 case pairs Rust's tables
/// have and .NET 10's (Unicode 16) lack. Checked on every code point against
/// tests/Distill.Text.Tests/expected/lowercase.txt (tools/tokenizers/make_lowercase_expected.mjs).
/// </summary>
public sealed class LowercaseNormalizer : INormalizer
{
    public void Normalize(NormalizedText text)
    {
        bool ascii = true;
        for (int i = 0; i < text.Length && ascii; i++) ascii = text.Cps[i] < 0x80;
        if (ascii)
        {
            // Fast path: ASCII lowercases in place, one code point for one, alignment unchanged.
            for (int i = 0; i < text.Length; i++) if ((uint)(text.Cps[i] - 'A') <= 'Z' - 'A') text.Cps[i] += 'a' - 'A';
            return;
        }
        var items = new List<(int, int)>(text.Length + 1);
        for (int i = 0; i < text.Length; i++)
        {
            int cp = text.Cps[i];
            if (cp == 0x130) { items.Add(('i', i)); items.Add((0x307, i)); continue; }
            items.Add((ToLower(cp), i));
        }
        text.Rebuild(items);
    }

    /// <summary>Rust's char::to_lowercase for every code point that maps to a single one (all but U+0130).</summary>
    public static int ToLower(int cp) => cp switch
    {
        < 0x80 => (uint)(cp - 'A') <= 'Z' - 'A' ? cp + ('a' - 'A') : cp,
        0xA7CE or 0xA7D2 or 0xA7D4 => cp + 1,                // Unicode 17: Latin capital letters pharyngeal voiced fricative, double thorn, double wynn
        >= 0x16EA0 and <= 0x16EB8 => cp + (0x16EBB - 0x16EA0), // Unicode 17: Beria Erfe capitals
        < 0x10000 => char.ToLowerInvariant((char)cp),
        _ => Rune.ToLowerInvariant(new Rune(cp)).Value,
    };
}

/// <summary>Strip: removes leading (left) and trailing (right) Unicode whitespace.</summary>
public sealed class StripNormalizer(bool left, bool right) : INormalizer
{
    public void Normalize(NormalizedText text)
    {
        int a = 0, b = text.Length;
        if (left) while (a < b && CodePoints.IsWhiteSpace(text.Cps[a])) a++;
        if (right) while (b > a && CodePoints.IsWhiteSpace(text.Cps[b - 1])) b--;
        if (a == 0 && b == text.Length) return;
        var items = new List<(int, int)>(b - a);
        for (int i = a; i < b; i++) items.Add((text.Cps[i], i));
        text.Rebuild(items);
    }
}

/// <summary>Replace a literal string (tokenizer.json {"String": ...}) by content; every content code point is aligned to the first replaced one.</summary>
public sealed class ReplaceNormalizer(string pattern, string content) : INormalizer
{
    readonly int[] _pattern = CodePoints.From(pattern);
    readonly int[] _content = CodePoints.From(content);

    public void Normalize(NormalizedText text)
    {
        if (_pattern.Length == 0) return;
        var items = new List<(int, int)>(text.Length);
        int i = 0;
        while (i < text.Length)
        {
            if (i + _pattern.Length <= text.Length && text.Cps.AsSpan(i, _pattern.Length).SequenceEqual(_pattern))
            {
                foreach (int cp in _content) items.Add((cp, i));
                i += _pattern.Length;
            }
            else { items.Add((text.Cps[i], i)); i++; }
        }
        text.Rebuild(items);
    }
}

/// <summary>Prepend: adds a prefix to non-empty text (Llama-2's "▁").</summary>
public sealed class PrependNormalizer(string prefix) : INormalizer
{
    public void Normalize(NormalizedText text)
    {
        if (text.Length > 0) text.Prepend(prefix);
    }
}

public sealed class SequenceNormalizer(IReadOnlyList<INormalizer> normalizers) : INormalizer
{
    public void Normalize(NormalizedText text)
    {
        foreach (var n in normalizers) n.Normalize(text);
    }
}
