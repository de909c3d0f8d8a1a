namespace Distill.Data.Datasets;

/// <summary>
/// A dataset record that cannot be used, named by file, position ("line 4" in JSONL, "row 4" in
/// Parquet, both 1-based) and, where one is at fault, the column.
/// </summary>
public sealed class DatasetFormatException(string path, string position, string? column, string message, Exception? inner = null)
    : FormatException($"{path}: {position}: {(column is null ? "" : $"column \"{column}\" ")}{message}", inner)
{
    public string Path { get; } = path;
    public string Position { get; } = position;
    public string? Column { get; } = column;
}
