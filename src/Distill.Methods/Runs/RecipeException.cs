namespace Distill.Methods.Runs;

/// <summary>A recipe that cannot be used: file (or "--set"), line where known, key, and why.</summary>
public sealed class RecipeException(string source, int? line, string? key, string message)
    : FormatException($"{source}{(line is { } l ? $":{l}" : "")}: {(key is null ? "" : $"key '{key}': ")}{message}")
{
    public string File { get; } = source;
    public int? Line { get; } = line;
    public string? Key { get; } = key;
}
