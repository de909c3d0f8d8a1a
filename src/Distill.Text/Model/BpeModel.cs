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
        _merges = new Dictionary<long, (int, int)>(merges.Count, PairKeyComparer.Instance);
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
        ReadOnlySpan<char> span = buffer[..ToUtf16(word, buffer)];
        if (_cacheLookup.TryGetValue(span, out var hit)) return hit;
        var tokens = TokenizeUncached(word, span);
        if (_cache.Count >= CacheCapacity) _cache.Clear();
        _cache.TryAdd(new string(span), tokens);
        return tokens;
    }

    /// <summary>Tokens of one word without the word cache (for callers that cache the result themselves).</summary>
    internal WordToken[] TokenizeUncached(ReadOnlySpan<int> word)
    {
        if (word.Length == 0) return [];
        if (!IgnoreMerges) return Merge(word);
        Span<char> buffer = word.Length <= 256 ? stackalloc char[word.Length * 2] : new char[word.Length * 2];
        return TokenizeUncached(word, buffer[..ToUtf16(word, buffer)]);
    }

    WordToken[] TokenizeUncached(ReadOnlySpan<int> word, ReadOnlySpan<char> text) =>
        IgnoreMerges && _vocabLookup.TryGetValue(text, out int whole) ? [new WordToken(whole, 0, word.Length)] : Merge(word);

    static int ToUtf16(ReadOnlySpan<int> word, Span<char> buffer)
    {
        int n = 0;
        foreach (int cp in word)
        {
            if (cp < 0x10000) buffer[n++] = (char)cp;
            else { buffer[n++] = (char)(0xD800 + ((cp - 0x10000) >> 10)); buffer[n++] = (char)(0xDC00 + ((cp - 0x10000) & 0x3FF)); }
        }
        return n;
    }

    /// <summary>Symbols longer than this merge through a heap; shorter ones through a linear scan of cached pair ranks.</summary>
    const int ScanLimit = 48;

    WordToken[] Merge(ReadOnlySpan<int> word)
    {
        // Initial symbols, start/end in code point indices; byte fallback may give up to 4 per code point.
        int capacity = word.Length * 4;
        Span<int> sid = capacity <= 1024 ? stackalloc int[capacity] : new int[capacity];
        Span<int> sStart = capacity <= 1024 ? stackalloc int[capacity] : new int[capacity];
        Span<int> sEnd = capacity <= 1024 ? stackalloc int[capacity] : new int[capacity];
        int count = 0;
        Span<byte> utf8 = stackalloc byte[4];
        int prefixLength = ContinuingSubwordPrefix?.Length ?? 0, suffixLength = EndOfWordSuffix?.Length ?? 0;
        Span<char> key = stackalloc char[prefixLength + 2 + suffixLength];
        for (int i = 0; i < word.Length; i++)
        {
            int n = 0;
            if (i > 0 && prefixLength > 0) { ContinuingSubwordPrefix.AsSpan().CopyTo(key); n = prefixLength; }
            n += ToUtf16(word.Slice(i, 1), key[n..]);
            if (i == word.Length - 1 && suffixLength > 0) { EndOfWordSuffix.AsSpan().CopyTo(key[n..]); n += suffixLength; }
            if (_vocabLookup.TryGetValue(key[..n], out int v)) { sid[count] = v; sStart[count] = i; sEnd[count++] = i + 1; continue; }
            if (_byteIds != null)
            {
                int nb = new System.Text.Rune(word[i]).EncodeToUtf8(utf8);
                bool all = true;
                for (int k = 0; k < nb; k++) all &= _byteIds[utf8[k]] >= 0;
                if (all)
                {
                    for (int k = 0; k < nb; k++) { sid[count] = _byteIds[utf8[k]]; sStart[count] = i; sEnd[count++] = i + 1; }
                    continue;
                }
            }
            if (UnkToken == null) throw new InvalidOperationException($"BPE: \"{new string(key[..n])}\" is not in the vocabulary and the model has no unk_token or byte fallback");
            int unk = _vocab[UnkToken];
            if (FuseUnk && count > 0 && sid[count - 1] == unk && sEnd[count - 1] == i) { sEnd[count - 1] = i + 1; continue; }
            sid[count] = unk; sStart[count] = i; sEnd[count++] = i + 1;
        }
        return count <= ScanLimit ? MergeScan(sid[..count], sStart[..count], sEnd[..count]) : MergeHeap(sid[..count].ToArray(), sStart[..count].ToArray(), sEnd[..count].ToArray());
    }

    /// <summary>
    /// Short words: repeatedly merge the pair of lowest rank, leftmost on ties — the order Rust's
    /// Word::merge_all pops from its (rank, position) heap — keeping each adjacent pair's rank in
    /// an array so a merge looks up only the two pairs it changes.
    /// </summary>
    WordToken[] MergeScan(Span<int> sid, Span<int> sStart, Span<int> sEnd)
    {
        int count = sid.Length;
        Span<int> rank = stackalloc int[Math.Max(count, 1)], newId = stackalloc int[Math.Max(count, 1)];
        for (int i = 0; i + 1 < count; i++) Pair(sid, i, rank, newId);
        while (count > 1)
        {
            int best = -1, bestRank = int.MaxValue;
            for (int i = 0; i + 1 < count; i++) if (rank[i] < bestRank) { bestRank = rank[i]; best = i; }
            if (best < 0) break;
            sid[best] = newId[best]; sEnd[best] = sEnd[best + 1];
            int tail = count - best - 2; // symbols after the absorbed one
            sid.Slice(best + 2, tail).CopyTo(sid[(best + 1)..]);
            sStart.Slice(best + 2, tail).CopyTo(sStart[(best + 1)..]);
            sEnd.Slice(best + 2, tail).CopyTo(sEnd[(best + 1)..]);
            rank.Slice(best + 2, tail).CopyTo(rank[(best + 1)..]);
            newId.Slice(best + 2, tail).CopyTo(newId[(best + 1)..]);
            count--;
            if (best > 0) Pair(sid, best - 1, rank, newId);
            if (best + 1 < count) Pair(sid, best, rank, newId); else rank[best] = int.MaxValue;
        }
        var result = new WordToken[count];
        for (int i = 0; i < count; i++) result[i] = new WordToken(sid[i], sStart[i], sEnd[i]);
        return result;
    }

    void Pair(Span<int> sid, int i, Span<int> rank, Span<int> newId)
    {
        if (_merges.TryGetValue(((long)sid[i] << 32) | (uint)sid[i + 1], out var m)) { rank[i] = m.Rank; newId[i] = m.NewId; }
        else rank[i] = int.MaxValue;
    }

    /// <summary>Long words: a doubly linked list and a heap of candidate merges ordered by (rank, position); stale entries are skipped on pop (Rust Word::merge_all).</summary>
    WordToken[] MergeHeap(int[] sid, int[] sStart, int[] sEnd)
    {
        int count = sid.Length;
        var prev = new int[count]; var next = new int[count]; var alive = new bool[count];
        for (int i = 0; i < count; i++) { prev[i] = i - 1; next[i] = i + 1 < count ? i + 1 : -1; alive[i] = true; }
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

/// <summary>
/// Hash for the (left id &lt;&lt; 32 | right id) merge keys. long.GetHashCode is left ^ right, so with
/// ids below 2^17 all 50k–150k merges fall into about as many hash values as there are ids, and
/// the lookups walk long collision chains; a Fibonacci multiply spreads both halves over all bits.
/// </summary>
sealed class PairKeyComparer : IEqualityComparer<long>
{
    public static readonly PairKeyComparer Instance = new();
    public bool Equals(long x, long y) => x == y;
    public int GetHashCode(long key) => (int)(((ulong)key * 0x9E3779B97F4A7C15UL) >> 32);
}
