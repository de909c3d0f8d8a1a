using System.Text.Json;

namespace Distill.Models.Formats.Gguf;

/// <summary>
/// The tokenizer.ggml.* metadata of a model folder, as llama.cpp's convert_hf_to_gguf.py writes it for byte-level BPE
/// tokenizers (`_set_vocab_gpt2` + gguf-py SpecialVocab): tokenizer.ggml.model "gpt2", the pre-tokenizer name llama.cpp
/// knows the tokenizer's split regex by (tokenizer.ggml.pre), one token per embedding row (ids the tokenizer lacks
/// become "[PAD{id}]", type UNUSED), token types (added special tokens, or ones that look special, CONTROL; other
/// added tokens USER_DEFINED; the rest NORMAL), merges as "left right", bos/eos/unk/pad ids from tokenizer_config.json
/// (else config.json), add_bos_token/add_eos_token, and the chat template.
/// SentencePiece-style tokenizers (tokenizer.ggml.model "llama", which needs per-token scores) and byte-level
/// tokenizers whose split regex llama.cpp does not know by name are refused, naming what was found.
/// </summary>
public static class GgufTokenizer
{
    // The split regexes of the pre-tokenizers llama.cpp implements (llama-vocab.cpp, LLAMA_VOCAB_PRE_TYPE_*), keyed by
    // the tokenizer.json pre_tokenizer that means them. convert_hf_to_gguf.py identifies a tokenizer by hashing its
    // encoding of a test text; Distill reads the pre_tokenizer itself, which is what that hash stands for.
    const string Llama3Regex = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    const string Qwen2Regex = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

    public static List<GgufEntry> Metadata(string modelDir, ModelConfig config)
    {
        var file = Path.Combine(modelDir, "tokenizer.json");
        if (!File.Exists(file)) throw new ModelFormatException($"{modelDir}: no tokenizer.json; a GGUF file carries the vocabulary, so export needs the tokenizer files beside the model");
        using var doc = JsonDocument.Parse(File.ReadAllBytes(file));
        var root = doc.RootElement;
        var model = root.GetProperty("model");
        string type = model.TryGetProperty("type", out var t) ? t.GetString() ?? "" : "";
        if (type != "BPE") throw new ModelFormatException($"{file}: model type '{type}' cannot be exported to GGUF (only BPE)");
        string pre = PreTokenizerName(root, file);

        var byId = new Dictionary<int, string>();
        foreach (var e in model.GetProperty("vocab").EnumerateObject()) byId[e.Value.GetInt32()] = e.Name;
        var added = new Dictionary<int, (string Content, bool Special)>();
        if (root.TryGetProperty("added_tokens", out var at) && at.ValueKind == JsonValueKind.Array)
            foreach (var a in at.EnumerateArray())
            {
                int id = a.GetProperty("id").GetInt32();
                string content = a.GetProperty("content").GetString()!;
                added[id] = (content, a.TryGetProperty("special", out var s) && s.GetBoolean());
                byId[id] = content;
            }
        int n = config.VocabSize;
        int maxId = byId.Count == 0 ? -1 : byId.Keys.Max();
        if (maxId >= n) throw new ModelFormatException($"{file}: token id {maxId} is past the model's {n} embedding rows (vocab_size)");
        var tokens = new string[n];
        var types = new int[n];
        for (int i = 0; i < n; i++)
        {
            if (!byId.TryGetValue(i, out var tok)) { tokens[i] = $"[PAD{i}]"; types[i] = (int)GgufTokenType.Unused; continue; }
            tokens[i] = tok;
            types[i] = (int)(!added.TryGetValue(i, out var a) ? GgufTokenType.Normal
                : a.Special || LooksSpecial(tok) ? GgufTokenType.Control : GgufTokenType.UserDefined);
        }
        var merges = new List<string>();
        if (model.TryGetProperty("merges", out var m))
            foreach (var e in m.EnumerateArray())
                merges.Add(e.ValueKind == JsonValueKind.Array ? $"{e[0].GetString()} {e[1].GetString()}" : e.GetString()!);

        var entries = new List<GgufEntry>
        {
            GgufEntry.String("tokenizer.ggml.model", "gpt2"),
            GgufEntry.String("tokenizer.ggml.pre", pre),
            GgufEntry.Strings("tokenizer.ggml.tokens", tokens),
            GgufEntry.Int32s("tokenizer.ggml.token_type", types),
            GgufEntry.Strings("tokenizer.ggml.merges", merges.ToArray()),
        };
        var tc = ReadConfig(Path.Combine(modelDir, "tokenizer_config.json"));
        int? Id(string key, int? fallback)
        {
            if (tc is { } c && c.TryGetProperty(key, out var v))
            {
                string? content = v.ValueKind == JsonValueKind.String ? v.GetString() : v.ValueKind == JsonValueKind.Object && v.TryGetProperty("content", out var cc) ? cc.GetString() : null;
                if (content is not null && byId.FirstOrDefault(p => p.Value == content) is { Value: not null } hit) return hit.Key;
            }
            return fallback;
        }
        int? bos = Id("bos_token", config.BosTokenId), eos = Id("eos_token", config.EosTokenIds.Length > 0 ? config.EosTokenIds[0] : null);
        int? unk = Id("unk_token", null), pad = Id("pad_token", config.PadTokenId);
        if (bos is int b) entries.Add(GgufEntry.UInt32("tokenizer.ggml.bos_token_id", b));
        if (eos is int e2) entries.Add(GgufEntry.UInt32("tokenizer.ggml.eos_token_id", e2));
        if (unk is int u) entries.Add(GgufEntry.UInt32("tokenizer.ggml.unknown_token_id", u));
        if (pad is int p) entries.Add(GgufEntry.UInt32("tokenizer.ggml.padding_token_id", p));
        var (addBos, addEos) = AddsSpecial(root, tc, bos, eos);
        entries.Add(GgufEntry.Bool("tokenizer.ggml.add_bos_token", addBos));
        entries.Add(GgufEntry.Bool("tokenizer.ggml.add_eos_token", addEos));
        if (ChatTemplate(modelDir, tc) is string template) entries.Add(GgufEntry.String("tokenizer.chat_template", template));
        return entries;
    }

    /// <summary>tokenizer.ggml.pre for the tokenizer's pre_tokenizer; an unknown one is refused, naming it.</summary>
    static string PreTokenizerName(JsonElement root, string file)
    {
        if (!root.TryGetProperty("pre_tokenizer", out var pt) || pt.ValueKind != JsonValueKind.Object)
            throw new ModelFormatException($"{file}: no pre_tokenizer; only byte-level BPE tokenizers are exported to GGUF (SentencePiece-style ones need tokenizer.ggml.model 'llama', not implemented)");
        var steps = pt.GetProperty("type").GetString() == "Sequence" ? pt.GetProperty("pretokenizers").EnumerateArray().ToList() : [pt];
        string Type(JsonElement e) => e.GetProperty("type").GetString() ?? "";
        bool ByteLevel(JsonElement e, bool useRegex) => Type(e) == "ByteLevel" && (!e.TryGetProperty("use_regex", out var r) || r.GetBoolean() == useRegex)
            && !(e.TryGetProperty("add_prefix_space", out var s) && s.GetBoolean());
        string? SplitRegex(JsonElement e) => Type(e) == "Split" && e.TryGetProperty("pattern", out var p) && p.TryGetProperty("Regex", out var r) ? r.GetString() : null;
        if (steps.Count == 1 && ByteLevel(steps[0], true)) return "gpt-2";
        if (steps.Count == 2 && ByteLevel(steps[1], false) && SplitRegex(steps[0]) == Qwen2Regex) return "qwen2";
        if (steps.Count == 2 && ByteLevel(steps[1], false) && SplitRegex(steps[0]) == Llama3Regex) return "llama-bpe";
        if (steps.Count == 2 && Type(steps[0]) == "Digits" && steps[0].TryGetProperty("individual_digits", out var d) && d.GetBoolean() && ByteLevel(steps[1], true)) return "smollm";
        throw new ModelFormatException($"{file}: pre_tokenizer {pt.GetRawText()[..Math.Min(200, pt.GetRawText().Length)]} is not one llama.cpp knows by name "
            + "(Distill maps GPT-2's ByteLevel, Qwen2's and Llama 3's split regexes and SmolLM's digits + ByteLevel)");
    }

    // convert_hf_to_gguf.py does_token_look_special (the forms that apply to byte-level vocabularies)
    static bool LooksSpecial(string tok) => tok is "<pad>" or "<mask>" or "<2mass>" or "[@BOS@]"
        || (tok.StartsWith("<|", StringComparison.Ordinal) && tok.EndsWith("|>", StringComparison.Ordinal));

    static JsonElement? ReadConfig(string path)
    {
        if (!File.Exists(path)) return null;
        try { return JsonDocument.Parse(File.ReadAllBytes(path)).RootElement.Clone(); }
        catch (JsonException e) { throw new ModelFormatException($"{path}: not JSON ({e.Message})"); }
    }

    /// <summary>
    /// Whether encoding adds BOS / EOS: tokenizer_config.json's add_bos_token / add_eos_token when given (SpecialVocab
    /// reads them), else whether tokenizer.json's TemplateProcessing post-processor puts them around a single text.
    /// </summary>
    static (bool Bos, bool Eos) AddsSpecial(JsonElement root, JsonElement? tc, int? bos, int? eos)
    {
        bool? cfgBos = tc is { } c1 && c1.TryGetProperty("add_bos_token", out var b) && b.ValueKind is JsonValueKind.True or JsonValueKind.False ? b.GetBoolean() : null;
        bool? cfgEos = tc is { } c2 && c2.TryGetProperty("add_eos_token", out var e) && e.ValueKind is JsonValueKind.True or JsonValueKind.False ? e.GetBoolean() : null;
        bool tplBos = false, tplEos = false;
        if (root.TryGetProperty("post_processor", out var pp) && pp.ValueKind == JsonValueKind.Object)
        {
            var processors = pp.GetProperty("type").GetString() == "Sequence" ? pp.GetProperty("processors").EnumerateArray().ToList() : [pp];
            foreach (var p in processors.Where(p => p.GetProperty("type").GetString() == "TemplateProcessing"))
            {
                var single = p.GetProperty("single").EnumerateArray().ToList();
                int? SpecialId(JsonElement piece) => piece.TryGetProperty("SpecialToken", out var st)
                    && p.GetProperty("special_tokens").TryGetProperty(st.GetProperty("id").GetString()!, out var def)
                    ? def.GetProperty("ids")[0].GetInt32() : null;
                if (single.Count > 0 && SpecialId(single[0]) is int first && first == bos) tplBos = true;
                if (single.Count > 0 && SpecialId(single[^1]) is int last && last == eos) tplEos = true;
            }
        }
        return (cfgBos ?? tplBos, cfgEos ?? tplEos);
    }

    /// <summary>tokenizer_config.json's chat_template (a string, or the "default" of a list of named templates), else chat_template.jinja.</summary>
    static string? ChatTemplate(string modelDir, JsonElement? tc)
    {
        if (tc is { } c && c.TryGetProperty("chat_template", out var ct))
        {
            if (ct.ValueKind == JsonValueKind.String) return ct.GetString();
            if (ct.ValueKind == JsonValueKind.Array)
                foreach (var named in ct.EnumerateArray())
                    if (named.GetProperty("name").GetString() == "default") return named.GetProperty("template").GetString();
        }
        var jinja = Path.Combine(modelDir, "chat_template.jinja");
        return File.Exists(jinja) ? File.ReadAllText(jinja) : null;
    }
}
