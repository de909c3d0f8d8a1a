namespace Distill.Data.Jsonl;

/// <summary>A JSONL line that cannot be used, named by file and 1-based line number.</summary>
public sealed class JsonlFormatException(string path, int line, string message, Exception? inner = null)
    : FormatException($"{path}:{line}: {message}", inner)
{
    public string Path { get; } = path;
    public int Line { get; } = line;
}
