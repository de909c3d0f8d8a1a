using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Distill.Text.PreTokenizer;

namespace Distill.Text.Trainer;

/// <summary>Options of <see cref="BpeTrainer"/>, named as in Hugging Face's BpeTrainer.</summary>
public sealed record BpeTrainerOptions(int VocabSize = 30000, long MinFrequency = 0, IReadOnlyList<string>? SpecialTokens = null, bool ByteLevelAlphabet = true)
{
    public void Validate()
    {
        if (VocabSize < 1) throw new ArgumentException($"VocabSize must be positive, got {VocabSize}");
        if (MinFrequency < 0) throw new ArgumentException($"MinFrequency must be >= 0, got {MinFrequency}");
    }
}

/// <summary>
/// Byte-level BPE training, step for step as Rust tokenizers' BpeTrainer (bpe/trainer.rs) so the
/// same corpus gives the same vocabulary and merges: words from the GPT-2 byte-level pre-tokenizer,
/// special tokens first, then the alphabet sorted by code point (with the 256 byte symbols when
/// ByteLevelAlphabet), then repeatedly the most frequent pair — ties to the smallest (left id,
/// right id) — from a max-heap with lazily refreshed counts, until the vocabulary is full or the
/// best count is below MinFrequency. Checked against the npm binding in tests (BpeTrainerTests).
/// </summary>
public static class BpeTrainer
{
    public sealed record Result(Dictionary<string, int> Vocab, List<(string Left, string Right)> Merges, IReadOnlyList<string> SpecialTokens);

    public static Result Train(IEnumerable<string> texts, BpeTrainerOptions options)
    {
        options.Validate();
        var pre = new ByteLevelPreTokenizer(addPrefixSpace: false, useRegex: true);
        var wordCounts = new Dictionary<string, long>();
        foreach (var text in texts)
        {
            var pieces = new List<NormalizedText> { NormalizedText.FromOriginal(CodePoints.From(text), 0, CodePoints.From(text).Length) };
            pre.PreTokenize(pieces);
            foreach (var p in pieces)
            {
                if (p.Length == 0) continue;
                string w = p.ToString();
                wordCounts[w] = wordCounts.GetValueOrDefault(w) + 1;
            }
        }

        var wordToId = new Dictionary<string, int>();
        var idToWord = new List<string>();
        void AddToken(string t) { if (wordToId.TryAdd(t, idToWord.Count)) idToWord.Add(t); }
        var specials = options.SpecialTokens ?? [];
        foreach (var s in specials) AddToken(s);

        // Alphabet: every code point of the words, plus the byte-level symbols; sorted by code point.
        var alphabet = new SortedSet<int>();
        foreach (var w in wordCounts.Keys) foreach (int cp in CodePoints.From(w)) alphabet.Add(cp);
        if (options.ByteLevelAlphabet) foreach (int cp in ByteLevelTable.ByteToChar) alphabet.Add(cp);
        foreach (int cp in alphabet) AddToken(char.ConvertFromUtf32(cp));

        var words = new List<List<int>>(wordCounts.Count);
        var counts = new List<long>(wordCounts.Count);
        foreach (var (w, c) in wordCounts)
        {
            words.Add(CodePoints.From(w).Select(cp => wordToId[char.ConvertFromUtf32(cp)]).ToList());
            counts.Add(c);
        }

        var pairCounts = new Dictionary<(int, int), long>();
        var whereToUpdate = new Dictionary<(int, int), HashSet<int>>();
        for (int wi = 0; wi < words.Count; wi++)
            for (int k = 0; k + 1 < words[wi].Count; k++)
            {
                var pair = (words[wi][k], words[wi][k + 1]);
                pairCounts[pair] = pairCounts.GetValueOrDefault(pair) + counts[wi];
                if (!whereToUpdate.TryGetValue(pair, out var set)) whereToUpdate[pair] = set = [];
                set.Add(wi);
            }
        // Max-heap on (count, then smallest pair): .NET's PriorityQueue is a min-heap, so negate.
        var queue = new PriorityQueue<((int A, int B) Pair, long Count, HashSet<int> Pos), (long, int, int)>();
        void Push((int, int) pair, long count, HashSet<int> pos) => queue.Enqueue((pair, count, pos), (-count, pair.Item1, pair.Item2));
        foreach (var (pair, pos) in whereToUpdate) if (pairCounts[pair] > 0) Push(pair, pairCounts[pair], pos);
        whereToUpdate.Clear();

        var merges = new List<(string, string)>();
        while (wordToId.Count < options.VocabSize && queue.TryDequeue(out var top, out _))
        {
            long current = pairCounts[top.Pair];
            if (top.Count != current) { Push(top.Pair, current, top.Pos); continue; }
            if (top.Count < 1 || options.MinFrequency > top.Count) break;
            string a = idToWord[top.Pair.A], b = idToWord[top.Pair.B];
            string merged = a + b;
            if (!wordToId.TryGetValue(merged, out int newId)) { newId = idToWord.Count; AddToken(merged); }
            merges.Add((a, b));
            foreach (int wi in top.Pos.Order())
                foreach (var (pair, change) in MergeWord(words[wi], top.Pair.A, top.Pair.B, newId))
                {
                    pairCounts[pair] = pairCounts.GetValueOrDefault(pair) + change * counts[wi];
                    if (change > 0)
                    {
                        if (!whereToUpdate.TryGetValue(pair, out var set)) whereToUpdate[pair] = set = [];
                        set.Add(wi);
                    }
                }
            foreach (var (pair, pos) in whereToUpdate) if (pairCounts[pair] > 0) Push(pair, pairCounts[pair], pos);
            whereToUpdate.Clear();
        }
        return new Result(wordToId, merges, specials);
    }

    /// <summary>
    /// Rust Word::merge: replaces every non-overlapping (c1, c2), left to right, and reports the pair
    /// count changes. Example: [a, a, a, a] merging (a, a) → [aa, aa] with changes
    /// ((a,a), -1), ((aa,a), +1), ((aa,a), -1), ((aa,aa), +1).
    /// </summary>
    static List<((int, int) Pair, int Change)> MergeWord(List<int> s, int c1, int c2, int replacement)
    {
        var changes = new List<((int, int), int)>();
        for (int i = 0; i < s.Count; i++)
        {
            if (s[i] != c1 || i + 1 >= s.Count || s[i + 1] != c2) continue;
            int first = s[i], second = s[i + 1];
            if (i > 0) { changes.Add(((s[i - 1], first), -1)); changes.Add(((s[i - 1], replacement), 1)); }
            s[i] = replacement;
            s.RemoveAt(i + 1);
            if (i < s.Count - 1) { changes.Add(((second, s[i + 1]), -1)); changes.Add(((replacement, s[i + 1]), 1)); }
        }
        return changes;
    }

    /// <summary>
    /// Writes a GPT-2-style tokenizer.json (ByteLevel pre-tokenizer/decoder/post-processor, BPE with
    /// merges as ["a", "b"] pairs, special tokens as added tokens) that Hugging Face's loader reads.
    /// </summary>
    public static void Save(Result result, string path)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteString("version", "1.0");
            w.WriteNull("truncation");
            w.WriteNull("padding");
            w.WriteStartArray("added_tokens");
            foreach (var s in result.SpecialTokens)
            {
                w.WriteStartObject();
                w.WriteNumber("id", result.Vocab[s]); w.WriteString("content", s);
                w.WriteBoolean("single_word", false); w.WriteBoolean("lstrip", false); w.WriteBoolean("rstrip", false);
                w.WriteBoolean("normalized", false); w.WriteBoolean("special", true);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteNull("normalizer");
            WriteByteLevel(w, "pre_tokenizer", addPrefixSpace: false, trimOffsets: true);
            WriteByteLevel(w, "post_processor", addPrefixSpace: true, trimOffsets: false);
            WriteByteLevel(w, "decoder", addPrefixSpace: true, trimOffsets: true);
            w.WriteStartObject("model");
            w.WriteString("type", "BPE");
            w.WriteNull("dropout"); w.WriteNull("unk_token"); w.WriteNull("continuing_subword_prefix"); w.WriteNull("end_of_word_suffix");
            w.WriteBoolean("fuse_unk", false); w.WriteBoolean("byte_fallback", false); w.WriteBoolean("ignore_merges", false);
            w.WriteStartObject("vocab");
            foreach (var (token, id) in result.Vocab.OrderBy(p => p.Value)) w.WriteNumber(token, id);
            w.WriteEndObject();
            w.WriteStartArray("merges");
            foreach (var (a, b) in result.Merges) { w.WriteStartArray(); w.WriteStringValue(a); w.WriteStringValue(b); w.WriteEndArray(); }
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteEndObject();
        }
        string tmp = path + ".tmp";
        File.WriteAllBytes(tmp, stream.ToArray());
        File.Move(tmp, path, overwrite: true);
    }

    static void WriteByteLevel(Utf8JsonWriter w, string name, bool addPrefixSpace, bool trimOffsets)
    {
        w.WriteStartObject(name);
        w.WriteString("type", "ByteLevel");
        w.WriteBoolean("add_prefix_space", addPrefixSpace); w.WriteBoolean("trim_offsets", trimOffsets); w.WriteBoolean("use_regex", true);
        w.WriteEndObject();
    }
}
