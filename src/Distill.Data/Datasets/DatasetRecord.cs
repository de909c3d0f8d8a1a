using System.Text.Json.Nodes;

namespace Distill.Data.Datasets;

/// <summary>
/// One record of a dataset, whatever file it came from, with TRL's column names as keys
/// (prompt, completion, chosen, rejected, messages, prompt_ids...). The Require* accessors fail
/// with the same message for JSONL and Parquet: file, line or row, column.
/// </summary>
public sealed record DatasetRecord(string Path, string Position, JsonObject Json)
{
    public DatasetFormatException Error(string? column, string message) => new(Path, Position, column, message);

    public string RequireString(string column)
        => Json[column] is JsonValue v && v.TryGetValue<string>(out var s) ? s
            : throw Error(column, Json.ContainsKey(column) ? $"is {Describe(Json[column])}, not a string" : "is missing");

    public string? OptionalString(string column)
        => Json[column] switch
        {
            null => null,
            JsonValue v when v.TryGetValue<string>(out var s) => s,
            var other => throw Error(column, $"is {Describe(other)}, not a string"),
        };

    public int RequireInt(string column)
        => Json[column] is JsonValue v && v.TryGetValue<int>(out var i) ? i
            : Json[column] is JsonValue w && w.TryGetValue<long>(out var l) && l is >= int.MinValue and <= int.MaxValue ? (int)l
            : throw Error(column, Json.ContainsKey(column) ? $"is {Describe(Json[column])}, not an integer" : "is missing");

    public int[] RequireIntArray(string column)
    {
        if (Json[column] is not JsonArray arr) throw Error(column, Json.ContainsKey(column) ? $"is {Describe(Json[column])}, not a list of integers" : "is missing");
        var ids = new int[arr.Count];
        for (int i = 0; i < ids.Length; i++)
            ids[i] = arr[i] is JsonValue v && (v.TryGetValue<int>(out var id) || (v.TryGetValue<long>(out var l) && l is >= int.MinValue and <= int.MaxValue && (id = (int)l) == l))
                ? id : throw Error(column, $"element {i} is {Describe(arr[i])}, not an integer");
        return ids;
    }

    static string Describe(JsonNode? node) => node is null ? "null" : node.GetValueKind() switch
    {
        System.Text.Json.JsonValueKind.String => "a string",
        System.Text.Json.JsonValueKind.Number => "a number",
        System.Text.Json.JsonValueKind.Array => "a list",
        System.Text.Json.JsonValueKind.Object => "an object",
        System.Text.Json.JsonValueKind.True or System.Text.Json.JsonValueKind.False => "a boolean",
        _ => "null",
    };
}
