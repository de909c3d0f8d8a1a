using System.Collections;
using System.Text.Json.Nodes;
using Distill.Data.Jsonl;
using Parquet.Serialization;

namespace Distill.Data.Datasets;

/// <summary>
/// Reads a dataset file as <see cref="DatasetRecord"/>s: JSON Lines (.jsonl, .json lines) or
/// Apache Parquet (.parquet, the format Hugging Face Hub datasets are stored in), through
/// Parquet.Net. Parquet values become the JSON a JSONL file would hold: strings, numbers, booleans,
/// null, lists (Parquet LIST) and objects (structs, e.g. conversational `messages`).
/// </summary>
public static class DatasetReader
{
    public static IEnumerable<DatasetRecord> Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such file", path);
        return Path.GetExtension(path).ToLowerInvariant() switch
        {
            ".parquet" => ReadParquet(path),
            ".jsonl" or ".json" or ".ndjson" => ReadJsonl(path),
            var ext => throw new NotSupportedException($"{path}: unknown dataset format '{ext}' (expected .jsonl or .parquet)"),
        };
    }

    static IEnumerable<DatasetRecord> ReadJsonl(string path)
    {
        foreach (var r in JsonlReader.Read(path)) yield return new DatasetRecord(path, $"line {r.Line}", r.Json);
    }

    /// <summary>
    /// The whole file is deserialised at once (Parquet is columnar: a row needs every column
    /// chunk of its row group); datasets for distillation are small enough for that.
    /// </summary>
    static IEnumerable<DatasetRecord> ReadParquet(string path)
    {
        IList<Dictionary<string, object>> rows;
        List<string> columns;
        try
        {
            using var stream = File.OpenRead(path);
            var result = ParquetSerializer.DeserializeUntypedAsync(stream).GetAwaiter().GetResult();
            rows = result.Data;
            columns = result.Schema.Fields.Select(f => f.Name).ToList();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new DatasetFormatException(path, "file", null, $"not a readable Parquet file ({e.Message})", e);
        }
        for (int i = 0; i < rows.Count; i++)
        {
            var obj = new JsonObject();
            // a null cell is left out of the row's dictionary: it is a null, not a missing column
            foreach (var name in columns) obj[name] = rows[i].TryGetValue(name, out var value) ? ToJson(value, path, i + 1, name) : null;
            yield return new DatasetRecord(path, $"row {i + 1}", obj);
        }
    }

    static JsonNode? ToJson(object? value, string path, int row, string column) => value switch
    {
        null => null,
        string s => JsonValue.Create(s),
        bool b => JsonValue.Create(b),
        int i => JsonValue.Create(i),
        long l => JsonValue.Create(l),
        short h => JsonValue.Create(h),
        byte y => JsonValue.Create(y),
        float f => JsonValue.Create(f),
        double d => JsonValue.Create(d),
        decimal m => JsonValue.Create(m),
        DateTime t => JsonValue.Create(t),
        IDictionary dict => new JsonObject(dict.Keys.Cast<object>().Select(k => KeyValuePair.Create(k.ToString()!, ToJson(dict[k], path, row, column)))),
        IEnumerable list and not byte[] => new JsonArray(list.Cast<object?>().Select(x => ToJson(x, path, row, column)).ToArray()),
        _ => throw new DatasetFormatException(path, $"row {row}", column, $"has a Parquet type Distill does not read ({value.GetType().Name})"),
    };
}
