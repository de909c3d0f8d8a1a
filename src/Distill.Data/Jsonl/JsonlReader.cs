using System.Text.Json;
using System.Text.Json.Nodes;

namespace Distill.Data.Jsonl;

/// <summary>
/// Reads JSON Lines (https://jsonlines.org): one JSON object per line, UTF-8. Blank lines are
/// skipped; anything else that is not a JSON object is an error naming the file and line, raised
/// when that line is reached, so records before it have already been handed out.
/// </summary>
public static class JsonlReader
{
    /// <summary>One record and where it came from.</summary>
    public readonly record struct Record(int Line, JsonObject Json);

    public static IEnumerable<Record> Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such file", path);
        using var reader = new StreamReader(path, System.Text.Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        foreach (var record in Read(reader, path)) yield return record;
    }

    public static IEnumerable<Record> Read(TextReader reader, string name)
    {
        int lineNo = 0;
        while (reader.ReadLine() is { } line)
        {
            lineNo++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            JsonNode? node;
            try { node = JsonNode.Parse(line); }
            catch (JsonException e) { throw new JsonlFormatException(name, lineNo, $"not valid JSON ({e.Message})", e); }
            if (node is not JsonObject obj)
                throw new JsonlFormatException(name, lineNo, $"expected a JSON object, found {node?.GetValueKind().ToString() ?? "null"}");
            yield return new Record(lineNo, obj);
        }
    }

    /// <summary>The string field <paramref name="field"/>, or a clear error naming file, line and field.</summary>
    public static string RequireString(this Record record, string field, string path)
        => record.Json[field] is JsonValue v && v.TryGetValue<string>(out var s)
            ? s
            : throw new JsonlFormatException(path, record.Line, $"field \"{field}\" is missing or not a string");

    /// <summary>The integer-array field <paramref name="field"/> (token ids), or a clear error.</summary>
    public static int[] RequireIntArray(this Record record, string field, string path)
    {
        if (record.Json[field] is not JsonArray arr)
            throw new JsonlFormatException(path, record.Line, $"field \"{field}\" is missing or not an array");
        var ids = new int[arr.Count];
        for (int i = 0; i < ids.Length; i++)
            ids[i] = arr[i] is JsonValue v && v.TryGetValue<int>(out var id)
                ? id
                : throw new JsonlFormatException(path, record.Line, $"field \"{field}\"[{i}] is not an integer");
        return ids;
    }
}
