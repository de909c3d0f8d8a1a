namespace Distill.Methods.Runs;

/// <summary>
/// API keys live in environment variables only (DESIGN.md §4). The run knows which variables may
/// hold one — the recipe's teacher.api_key_env, OPENAI_API_KEY, ANTHROPIC_API_KEY — and scrubs
/// their values from every message it writes (an upstream's error body may echo a request).
/// </summary>
public static class Secrets
{
    static readonly string[] Standard = ["OPENAI_API_KEY", "ANTHROPIC_API_KEY"];

    /// <summary>Values of the key variables (at least 8 characters, so a short or empty value never masks text).</summary>
    public static IEnumerable<string> Values(Recipe recipe)
    {
        var names = Standard.Append(recipe.String("teacher.api_key_env")).Where(n => n.Length > 0).Distinct();
        return names.Select(Environment.GetEnvironmentVariable).Where(v => v is { Length: >= 8 }).Select(v => v!).Distinct();
    }

    public static string Redact(string text, IEnumerable<string> secrets)
        => secrets.Aggregate(text, (t, s) => t.Replace(s, "[redacted]", StringComparison.Ordinal));
}
