using System.Text.Json;

namespace Distill.Models.Formats;

/// <summary>
/// What a model folder needs to know about its tokenizer files without tokenizing: which files belong to it
/// and the vocabulary size of `tokenizer.json` (highest id in model.vocab or added_tokens, plus one — the
/// embedding rows a model must have). Tokenization itself is Distill.Text's.
/// </summary>
public static class TokenizerFiles
{
    public static readonly string[] Names = ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.json", "merges.txt", "tokenizer.model", "generation_config.json"];

    /// <summary>tokenizer.json inside <paramref name="path"/> (a folder) or the file itself.</summary>
    public static string TokenizerJson(string path) => Directory.Exists(path) ? Path.Combine(path, "tokenizer.json") : path;

    public static int VocabSize(string path)
    {
        var file = TokenizerJson(path);
        if (!File.Exists(file)) throw new ModelFormatException($"{file}: no tokenizer.json");
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(file));
            int max = -1;
            if (doc.RootElement.TryGetProperty("model", out var model) && model.TryGetProperty("vocab", out var vocab))
            {
                if (vocab.ValueKind == JsonValueKind.Object)
                    foreach (var e in vocab.EnumerateObject()) max = Math.Max(max, e.Value.GetInt32());
                else if (vocab.ValueKind == JsonValueKind.Array) // Unigram: [[piece, score], ...], id = index
                    max = Math.Max(max, vocab.GetArrayLength() - 1);
            }
            if (doc.RootElement.TryGetProperty("added_tokens", out var added) && added.ValueKind == JsonValueKind.Array)
                foreach (var t in added.EnumerateArray()) max = Math.Max(max, t.GetProperty("id").GetInt32());
            if (max < 0) throw new ModelFormatException($"{file}: no vocabulary found (model.vocab and added_tokens are empty)");
            return max + 1;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or KeyNotFoundException or FormatException)
        {
            throw new ModelFormatException($"{file}: not a tokenizer.json ({e.Message})");
        }
    }

    /// <summary>Copies the tokenizer files found beside <paramref name="path"/> into <paramref name="dir"/>.</summary>
    public static void CopyTo(string path, string dir)
    {
        var src = Directory.Exists(path) ? path : Path.GetDirectoryName(Path.GetFullPath(path))!;
        foreach (var name in Names.Where(n => n != "generation_config.json"))
        {
            var f = Path.Combine(src, name);
            if (File.Exists(f)) File.Copy(f, Path.Combine(dir, name), overwrite: true);
        }
        if (!Directory.Exists(path) && Path.GetFileName(path) != "tokenizer.json")
            File.Copy(path, Path.Combine(dir, "tokenizer.json"), overwrite: true);
    }
}
