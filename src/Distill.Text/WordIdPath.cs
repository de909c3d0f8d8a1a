using System.Collections.Concurrent;
using System.Text;
using System.Text.RegularExpressions;
using Distill.Text.Model;
using Distill.Text.Normalizer;
using Distill.Text.PostProcessor;
using Distill.Text.PreTokenizer;

namespace Distill.Text;

/// <summary>
/// The ids-only encoder behind <see cref="Tokenizer.EncodeToIds"/> for the shape of every byte-level
/// BPE tokenizer Distill targets (GPT-2, Qwen, Llama-3, Mistral-Nemo): no normalizer or NFC; a
/// regex split with Isolated behaviour, then ByteLevel without prefix space; a BPE model; no added
/// token with normalized=true. For such a tokenizer a regex word's ids depend on the word's text
/// alone, so they are cached by that text (looked up as a span of the input: a hit allocates
/// nothing) and the per-word NormalizedText, byte-level arrays, token strings and offsets of the full
/// <see cref="Tokenizer.Encode"/> are skipped. The regex runs on the input itself: without
/// surrogates the category proxy of <see cref="CodePoints.CategoryProxy"/> is the text. A text with
/// surrogates, or (under NFC) a segment with a code point from U+0300 up, takes the full path.
/// Equality with <see cref="Tokenizer.Encode"/> is checked on the conformance corpora.
/// </summary>
sealed class WordIdPath
{
    const int CacheCapacity = 200_000;
    readonly Regex _split;
    readonly bool _nfc;
    readonly BpeModel _model;
    readonly ConcurrentDictionary<string, int[]> _cache = new();
    readonly ConcurrentDictionary<string, int[]>.AlternateLookup<ReadOnlySpan<char>> _lookup;

    WordIdPath(Regex split, bool nfc, BpeModel model)
    {
        _split = split; _nfc = nfc; _model = model;
        _lookup = _cache.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>The path for <paramref name="tok"/>, or null when its pipeline is not of the shape above.</summary>
    public static WordIdPath? TryCreate(Tokenizer tok)
    {
        bool nfc = tok.Normalizer is UnicodeNormalizer { Form: NormalizationForm.FormC };
        if (tok.Normalizer != null && !nfc) return null;
        if (tok.Added.HasNormalized) return null;
        Regex? split = tok.PreTokenizer switch
        {
            ByteLevelPreTokenizer { AddPrefixSpace: false, UseRegex: true } => ByteLevelPreTokenizer.Gpt2Regex,
            SequencePreTokenizer { PreTokenizers: [SplitPreTokenizer { Behavior: SplitBehavior.Isolated, Invert: false } s, ByteLevelPreTokenizer { AddPrefixSpace: false, UseRegex: false }] } => s.Regex,
            _ => null,
        };
        return split == null ? null : new WordIdPath(split, nfc, tok.Model);
    }

    /// <summary>Appends the ids of text[start..end) (a piece between added tokens, no surrogates); false when it must take the full path.</summary>
    public bool TryEncode(ReadOnlySpan<char> segment, List<int> ids)
    {
        if (_nfc && segment.IndexOfAnyInRange('\u0300', '\uFFFF') >= 0) return false;
        int last = 0;
        foreach (var m in _split.EnumerateMatches(segment))
        {
            if (m.Length == 0) continue;
            if (m.Index > last) AddWord(segment[last..m.Index], ids); // Isolated keeps the gaps as words too
            AddWord(segment.Slice(m.Index, m.Length), ids);
            last = m.Index + m.Length;
        }
        if (last < segment.Length) AddWord(segment[last..], ids);
        return true;
    }

    void AddWord(ReadOnlySpan<char> word, List<int> ids)
    {
        if (!_lookup.TryGetValue(word, out var wordIds))
        {
            wordIds = Tokenize(word);
            if (_cache.Count >= CacheCapacity) _cache.Clear();
            _cache.TryAdd(new string(word), wordIds);
        }
        ids.AddRange(wordIds);
    }

    /// <summary>A word's UTF-8 bytes as byte-level code points (ByteLevel pre-tokenizer), then BPE.</summary>
    int[] Tokenize(ReadOnlySpan<char> word)
    {
        int n = Encoding.UTF8.GetByteCount(word);
        Span<byte> utf8 = n <= 512 ? stackalloc byte[n] : new byte[n];
        Encoding.UTF8.GetBytes(word, utf8);
        Span<int> cps = n <= 512 ? stackalloc int[n] : new int[n];
        for (int i = 0; i < n; i++) cps[i] = ByteLevelTable.ByteToChar[utf8[i]];
        var tokens = _model.TokenizeUncached(cps); // cached here by the word's text, not twice
        var result = new int[tokens.Length];
        for (int i = 0; i < tokens.Length; i++) result[i] = tokens[i].Id;
        return result;
    }

    /// <summary>Post-processors that leave the ids alone (they only move offsets).</summary>
    public static bool IdNeutral(IPostProcessor? p) => p is null or ByteLevelPostProcessor;
}
