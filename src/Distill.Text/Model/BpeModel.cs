using System.Collections.Concurrent;

namespace Distill.Text.Model;

/// <summary>One model token of a word: its id and the code point range [Start, End) of the word it covers.</summary>
public readonly record struct WordToken(int Id, int Start, int End);

/// <summary>
/// Byte-pair encoding as in Rust tokenizers' models::bpe. A word starts as one symbol per code
/// point (each looked up in the vocabulary, with continuing_subword_prefix / end_of_word_suffix;
/// unknown ones become byte-fallback tokens "&lt;0xXX&gt;" or unk_token, fused if fuse_unk), then the pair
/// with the lowest merge rank is merged — leftmost first on ties — until none applies.
/// Worked example (GPT-2): "Ġlower" → Ġ l o w e r → … → ["Ġlower"]; with ignore_merges a word that
/// is itself in the vocabulary is emitted directly (Llama-3, Mistral-Nemo).
/// </summary>
public sealed class BpeModel
{
    readonly Dictionary<string, int> _vocab;
    readonly Dictionary<long, (int Rank, int NewId)> _merges; // key: (left id << 32) | right id
    readonly ConcurrentDictionary<string, WordToken[]> _cache = new();
    readonly int[]? _byteIds; // (256) id of "<0xXX>", when byte_fallback
    readonly ConcurrentDictionary<string, WordToken[]>.AlternateLookup<ReadOnlySpan<char>> _cacheLookup;
    readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _vocabLookup;
    const int CacheCapacity = 200_000;

    public BpeModel(Dictionary<string, int> vocab, IReadOnlyList<(string Left, string Right)> merges, string? unkToken,
        string? continuingSubwordPrefix, string? endOfWordSuffix, bool fuseUnk, bool byteFallback, bool ignoreMerges)
    {
        _vocab = vocab;
        _vocabLookup = vocab.GetAlternateLookup<ReadOnlySpan<char>>();
        _cacheLookup = _cache.GetAlternateLookup<ReadOnlySpan<char>>();
        UnkToken = unkToken; ContinuingSubwordPrefix = continuingSubwordPrefix; EndOfWordSuffix = endOfWordSuffix;
        FuseUnk = fuseUnk; ByteFallback = byteFallback; IgnoreMerges = ignoreMerges;
        VocabSize = vocab.Count == 0 ? 0 : vocab.Values.Max() + 1;
        _merges = new Dictionary<long, (int, int)>(merges.Count);
        int prefixLength = continuingSubwordPrefix?.Length ?? 0;
        for (int rank = 0; rank < merges.Count; rank++)
        {
            var (a, b) = merges[rank];
            if (!vocab.TryGetValue(a, out int ia)) throw new FormatException($"BPE merge {rank} \"{a} {b}\": \"{a}\" is not in the vocabulary");
            if (!vocab.TryGetValue(b, out int ib)) throw new FormatException($"BPE merge {rank} \"{a} {b}\": \"{b}\" is not in the vocabulary");
            string merged = a + (prefixLength > 0 && b.StartsWith(continuingSubwordPrefix!, StringComparison.Ordinal) ? b[prefixLength..] : b);
            if (!vocab.TryGetValue(merged, out int id)) throw new FormatException($"BPE merge {rank} \"{a} {b}\": \"{merged}\" is not in the vocabulary");
            _merges.TryAdd(((long)ia << 32) | (uint)ib, (rank, id));
        }
        if (byteFallback)
        {
            _byteIds = new int[256];
            for (int b = 0; b < 256; b++) _byteIds[b] = vocab.TryGetValue($"<0x{b:X2}>", out int id) ? id : -1;
        }
        if (unkToken != null && !vocab.ContainsKey(unkToken)) throw new FormatException($"BPE unk_token \"{unkToken}\" is not in the vocabulary");
    }

    public string? UnkToken { get; }
    public string? ContinuingSubwordPrefix { get; }
    public string? EndOfWordSuffix { get; }
    public bool FuseUnk { get; }
    public bool ByteFallback { get; }
    public bool IgnoreMerges { get; }
    public int VocabSize { get; }
    public IReadOnlyDictionary<string, int> Vocab => _vocab;

    /// <summary>Tokens of one pre-tokenized word (code points), cached by the word's text.</summary>
    public WordToken[] Tokenize(ReadOnlySpan<int> word)
    {
        if (word.Length == 0) return [];
        // The key is built on the stack and looked up as a span: a cache hit allocates nothing.
        Span<char> buffer = word.Length <= 256 ? stackalloc char[word.Length * 2] : new char[word.Length * 2];
        int n = 0;
        foreach (int cp in word)
        {
            if (cp < 0x10000) buffer[n++] = (char)cp;
            else { buffer[n++] = (char)(0xD800 + ((cp - 0x10000) >> 10)); buffer[n++] = (char)(0xDC00 + ((cp - 0x10000) & 0x3FF)); }
        }
        ReadOnlySpan<char> span = buffer[..n];
        if (_cacheLookup.TryGetValue(span, out var hit)) return hit;
        WordToken[] tokens;
        if (IgnoreMerges && _vocabLookup.TryGetValue(span, out int whole)) tokens = [new WordToken(whole, 0, word.Length)];
        else tokens = Merge(word);
        if (_cache.Count >= CacheCapacity) _cache.Clear();
        _cache.TryAdd(new string(span), tokens);
        return tokens;
    }

    WordToken[] Merge(ReadOnlySpan<int> word)
    {
        // Initial symbols: a doubly linked list over arrays; start/end are code point indices.
        var id = new List<int>(word.Length); var start = new List<int>(word.Length); var end = new List<int>(word.Length);
        Span<byte> utf8 = stackalloc byte[4];
        for (int i = 0; i < word.Length; i++)
        {
            string s = CodePoints.ToUtf16(word.Slice(i, 1));
            if (i > 0 && !string.IsNullOrEmpty(ContinuingSubwordPrefix)) s = ContinuingSubwordPrefix + s;
            if (i == word.Length - 1 && !string.IsNullOrEmpty(EndOfWordSuffix)) s += EndOfWordSuffix;
            if (_vocab.TryGetValue(s, out int v)) { id.Add(v); start.Add(i); end.Add(i + 1); continue; }
            if (_byteIds != null)
            {
                int n = new System.Text.Rune(word[i]).EncodeToUtf8(utf8);
                bool all = true;
                for (int k = 0; k < n; k++) all &= _byteIds[utf8[k]] >= 0;
                if (all)
                {
                    for (int k = 0; k < n; k++) { id.Add(_byteIds[utf8[k]]); start.Add(i); end.Add(i + 1); }
                    continue;
                }
            }
            if (UnkToken == null) throw new InvalidOperationException($"BPE: \"{s}\" is not in the vocabulary and the model has no unk_token or byte fallback");
            int unk = _vocab[UnkToken];
            if (FuseUnk && id.Count > 0 && id[^1] == unk && end[^1] == i) { end[^1] = i + 1; continue; }
            id.Add(unk); start.Add(i); end.Add(i + 1);
        }

        int count = id.Count;
        var sid = id.ToArray(); var sStart = start.ToArray(); var sEnd = end.ToArray();
        var prev = new int[count]; var next = new int[count]; var alive = new bool[count];
        for (int i = 0; i < count; i++) { prev[i] = i - 1; next[i] = i + 1 < count ? i + 1 : -1; alive[i] = true; }

        // Heap of candidate merges ordered by (rank, position); stale entries are skipped on pop (Rust Word::merge_all).
        var heap = new PriorityQueue<(int Pos, int NewId), long>();
        for (int i = 0; i + 1 < count; i++) Push(heap, sid, i, i + 1);
        while (heap.TryDequeue(out var top, out _))
        {
            int pos = top.Pos;
            if (!alive[pos] || next[pos] < 0) continue;
            int right = next[pos];
            if (!_merges.TryGetValue(((long)sid[pos] << 32) | (uint)sid[right], out var m) || m.NewId != top.NewId) continue;
            sid[pos] = m.NewId; sEnd[pos] = sEnd[right];
            alive[right] = false;
            next[pos] = next[right];
            if (next[pos] >= 0) prev[next[pos]] = pos;
            if (prev[pos] >= 0) Push(heap, sid, prev[pos], pos);
            if (next[pos] >= 0) Push(heap, sid, pos, next[pos]);
        }
        var result = new List<WordToken>();
        for (int i = 0; i >= 0 && i < count; i = next[i]) result.Add(new WordToken(sid[i], sStart[i], sEnd[i]));
        return result.ToArray();
    }

    void Push(PriorityQueue<(int, int), long> heap, int[] sid, int left, int right)
    {
        if (_merges.TryGetValue(((long)sid[left] << 32) | (uint)sid[right], out var m))
            heap.Enqueue((left, m.NewId), ((long)m.Rank << 32) | (uint)left);
    }
}
