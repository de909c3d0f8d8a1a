using System.Text.Json;
using System.Text.RegularExpressions;
using Distill.Text.Decoder;
using Distill.Text.Model;
using Distill.Text.Normalizer;
using Distill.Text.PostProcessor;
using Distill.Text.PreTokenizer;

namespace Distill.Text;

/// <summary>
/// Reads a Hugging Face tokenizer.json into a <see cref="Tokenizer"/>. Every component type it does
/// not implement is a <see cref="NotSupportedException"/> naming the component and the file — never
/// a silently different tokenization.
/// </summary>
public static class TokenizerLoader
{
    /// <summary>Loads PATH: a tokenizer.json, or a folder holding one.</summary>
    public static Tokenizer Load(string path)
    {
        string file = Directory.Exists(path) ? Path.Combine(path, "tokenizer.json") : path;
        if (!File.Exists(file)) throw new FileNotFoundException($"tokenizer file not found: {file}", file);
        using var doc = JsonDocument.Parse(File.ReadAllBytes(file));
        return FromJson(doc.RootElement, file);
    }

    public static Tokenizer FromJson(JsonElement root, string source)
    {
        var reader = new Reader(source);
        foreach (var key in new[] { "truncation", "padding" })
            if (root.TryGetProperty(key, out var v) && v.ValueKind != JsonValueKind.Null)
                throw new NotSupportedException($"{source}: \"{key}\" is set; Distill.Text does not apply truncation or padding inside the tokenizer");
        var added = new List<AddedToken>();
        if (root.TryGetProperty("added_tokens", out var at))
            foreach (var t in at.EnumerateArray())
                added.Add(new AddedToken(t.GetProperty("id").GetInt32(), t.GetProperty("content").GetString()!, Bool(t, "special"),
                    Bool(t, "lstrip"), Bool(t, "rstrip"), Bool(t, "single_word"), Bool(t, "normalized")));
        var model = reader.Model(root.GetProperty("model"));
        var tokenIds = new Dictionary<string, int>(model.Vocab);
        foreach (var a in added) tokenIds[a.Content] = a.Id;
        var normalizer = Optional(root, "normalizer", reader.Normalizer);
        return new Tokenizer(model, new AddedVocabulary(added, normalizer),
            normalizer, Optional(root, "pre_tokenizer", reader.PreTokenizer),
            Optional(root, "post_processor", e => reader.PostProcessor(e, tokenIds)), Optional(root, "decoder", reader.Decoder), source);
    }

    static T? Optional<T>(JsonElement root, string key, Func<JsonElement, T> build) where T : class =>
        root.TryGetProperty(key, out var e) && e.ValueKind != JsonValueKind.Null ? build(e) : null;

    static bool Bool(JsonElement e, string key, bool fallback = false) =>
        e.TryGetProperty(key, out var v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : fallback;

    static string? Str(JsonElement e, string key) =>
        e.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    sealed class Reader(string source)
    {
        NotSupportedException Unsupported(string component, JsonElement e) =>
            new($"{source}: {component} type \"{Str(e, "type") ?? "?"}\" is not supported by Distill.Text");

        public BpeModel Model(JsonElement e)
        {
            string type = Str(e, "type") ?? (e.TryGetProperty("merges", out _) ? "BPE" : "?");
            if (type != "BPE") throw Unsupported("model", e);
            if (e.TryGetProperty("dropout", out var d) && d.ValueKind == JsonValueKind.Number && d.GetDouble() > 0)
                throw new NotSupportedException($"{source}: BPE dropout {d.GetDouble()} is not supported (encoding would be random)");
            var vocab = new Dictionary<string, int>();
            foreach (var p in e.GetProperty("vocab").EnumerateObject()) vocab[p.Name] = p.Value.GetInt32();
            var merges = new List<(string, string)>();
            int index = 0;
            foreach (var m in e.GetProperty("merges").EnumerateArray())
            {
                if (m.ValueKind == JsonValueKind.String)
                {
                    // "a b": split at the first space (Rust convert_merges_to_hashmap: exactly two parts).
                    string s = m.GetString()!;
                    int sp = s.IndexOf(' ', StringComparison.Ordinal);
                    if (sp < 0 || s.IndexOf(' ', sp + 1) >= 0) throw new FormatException($"{source}: model.merges[{index}] \"{s}\" is not \"left right\"");
                    merges.Add((s[..sp], s[(sp + 1)..]));
                }
                else if (m.ValueKind == JsonValueKind.Array && m.GetArrayLength() == 2)
                    merges.Add((m[0].GetString()!, m[1].GetString()!));
                else throw new FormatException($"{source}: model.merges[{index}] is neither \"a b\" nor [\"a\", \"b\"]");
                index++;
            }
            try
            {
                return new BpeModel(vocab, merges, Str(e, "unk_token"), Str(e, "continuing_subword_prefix"), Str(e, "end_of_word_suffix"),
                    Bool(e, "fuse_unk"), Bool(e, "byte_fallback"), Bool(e, "ignore_merges"));
            }
            catch (FormatException ex) { throw new FormatException($"{source}: {ex.Message}", ex); }
        }

        public INormalizer Normalizer(JsonElement e) => Str(e, "type") switch
        {
            "Sequence" => new SequenceNormalizer(e.GetProperty("normalizers").EnumerateArray().Select(Normalizer).ToArray()),
            "NFC" => new UnicodeNormalizer(System.Text.NormalizationForm.FormC),
            "NFD" => new UnicodeNormalizer(System.Text.NormalizationForm.FormD),
            "NFKC" => new UnicodeNormalizer(System.Text.NormalizationForm.FormKC),
            "NFKD" => new UnicodeNormalizer(System.Text.NormalizationForm.FormKD),
            "Lowercase" => new LowercaseNormalizer(),
            "Strip" => new StripNormalizer(Bool(e, "strip_left", true), Bool(e, "strip_right", true)),
            "Prepend" => new PrependNormalizer(Str(e, "prepend")!),
            "Replace" => new ReplaceNormalizer(LiteralPattern(e, "normalizer Replace"), Str(e, "content")!),
            _ => throw Unsupported("normalizer", e),
        };

        public IPreTokenizer PreTokenizer(JsonElement e) => Str(e, "type") switch
        {
            "Sequence" => new SequencePreTokenizer(e.GetProperty("pretokenizers").EnumerateArray().Select(PreTokenizer).ToArray()),
            "ByteLevel" => new ByteLevelPreTokenizer(Bool(e, "add_prefix_space", true), Bool(e, "use_regex", true)),
            "Split" => new SplitPreTokenizer(Pattern(e, "pre_tokenizer Split"), Behavior(e), Bool(e, "invert")),
            "Metaspace" => new MetaspacePreTokenizer(Str(e, "replacement") ?? "▁", PrependScheme(e), Bool(e, "split", true)),
            "Digits" => new SplitPreTokenizer(new Regex(Bool(e, "individual_digits") ? @"\p{N}" : @"\p{N}+", RegexOptions.CultureInvariant),
                SplitBehavior.Isolated, false),
            "Whitespace" => new SplitPreTokenizer(new Regex(@"\w+|[^\w\s]+", RegexOptions.CultureInvariant), SplitBehavior.Removed, true),
            "WhitespaceSplit" => new SplitPreTokenizer(new Regex(@"\s+", RegexOptions.CultureInvariant), SplitBehavior.Removed, false),
            "Punctuation" => new SplitPreTokenizer(new Regex(@"\p{P}", RegexOptions.CultureInvariant), Behavior(e, SplitBehavior.Isolated), false),
            _ => throw Unsupported("pre_tokenizer", e),
        };

        public IPostProcessor PostProcessor(JsonElement e, Dictionary<string, int> tokenIds) => Str(e, "type") switch
        {
            "Sequence" => new SequencePostProcessor(e.GetProperty("processors").EnumerateArray().Select(p => PostProcessor(p, tokenIds)).ToArray()),
            "ByteLevel" => new ByteLevelPostProcessor(Bool(e, "add_prefix_space", true), Bool(e, "trim_offsets", true)),
            "TemplateProcessing" => Template(e),
            "RobertaProcessing" => new ClsSepProcessing(Pair(e, "cls"), Pair(e, "sep"), Bool(e, "trim_offsets", true), Bool(e, "add_prefix_space", true)),
            "BertProcessing" => new ClsSepProcessing(Pair(e, "cls"), Pair(e, "sep"), false, false),
            _ => throw Unsupported("post_processor", e),
        };

        public IDecoder Decoder(JsonElement e) => Str(e, "type") switch
        {
            "Sequence" => new SequenceDecoder(e.GetProperty("decoders").EnumerateArray().Select(Decoder).ToArray()),
            "ByteLevel" => new ByteLevelDecoder(),
            "Replace" => new ReplaceDecoder(LiteralPattern(e, "decoder Replace"), Str(e, "content")!),
            "ByteFallback" => new ByteFallbackDecoder(),
            "Fuse" => new FuseDecoder(),
            "Strip" => new StripDecoder(Str(e, "content")![0], e.GetProperty("start").GetInt32(), e.GetProperty("stop").GetInt32()),
            "Metaspace" => new MetaspaceDecoder(Str(e, "replacement") ?? "▁", PrependScheme(e)),
            _ => throw Unsupported("decoder", e),
        };

        static (string, int) Pair(JsonElement e, string key) => (e.GetProperty(key)[0].GetString()!, e.GetProperty(key)[1].GetInt32());

        static string PrependScheme(JsonElement e) =>
            Str(e, "prepend_scheme") ?? (Bool(e, "add_prefix_space", true) ? "always" : "never");

        TemplateProcessing Template(JsonElement e)
        {
            var single = new List<(bool, string)>();
            foreach (var piece in e.GetProperty("single").EnumerateArray())
            {
                if (piece.TryGetProperty("Sequence", out var s)) single.Add((true, s.GetProperty("id").GetString()!));
                else if (piece.TryGetProperty("SpecialToken", out var t)) single.Add((false, t.GetProperty("id").GetString()!));
                else throw new FormatException($"{source}: post_processor TemplateProcessing piece {piece} is neither Sequence nor SpecialToken");
            }
            var specials = new Dictionary<string, (int[], string[])>();
            foreach (var p in e.GetProperty("special_tokens").EnumerateObject())
                specials[p.Name] = (p.Value.GetProperty("ids").EnumerateArray().Select(x => x.GetInt32()).ToArray(),
                    p.Value.GetProperty("tokens").EnumerateArray().Select(x => x.GetString()!).ToArray());
            foreach (var (isSeq, id) in single)
                if (!isSeq && !specials.ContainsKey(id)) throw new FormatException($"{source}: TemplateProcessing uses \"{id}\" but special_tokens does not define it");
            return new TemplateProcessing(single, specials);
        }

        SplitBehavior Behavior(JsonElement e, SplitBehavior fallback = SplitBehavior.Isolated) =>
            Str(e, "behavior") is { } b ? Enum.TryParse<SplitBehavior>(b, out var r) ? r
                : throw new NotSupportedException($"{source}: Split behavior \"{b}\" is not supported") : fallback;

        Regex Pattern(JsonElement e, string what)
        {
            var p = e.GetProperty("pattern");
            if (p.TryGetProperty("String", out var s)) return new Regex(Regex.Escape(s.GetString()!), RegexOptions.CultureInvariant);
            if (p.TryGetProperty("Regex", out var r)) return RegexTranslator.Translate(r.GetString()!, $"{source}: {what}");
            throw new FormatException($"{source}: {what} pattern is neither String nor Regex");
        }

        string LiteralPattern(JsonElement e, string what)
        {
            var p = e.GetProperty("pattern");
            if (p.TryGetProperty("String", out var s)) return s.GetString()!;
            throw new NotSupportedException($"{source}: {what} with a Regex pattern is not supported");
        }
    }
}
