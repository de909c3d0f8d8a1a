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

public sealed class LowercaseNormalizer : INormalizer
{
    public void Normalize(NormalizedText text)
    {
        var items = new List<(int, int)>(text.Length);
        for (int i = 0; i < text.Length; i++)
        {
            int cp = text.Cps[i];
            int lower = cp < 0x10000 ? char.ToLowerInvariant((char)cp) : Rune.ToLowerInvariant(new Rune(cp)).Value;
            items.Add((lower, i));
        }
        text.Rebuild(items);
    }
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
