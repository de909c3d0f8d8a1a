using System.Text.RegularExpressions;

namespace Distill.Text.PreTokenizer;

/// <summary>
/// Oniguruma (what Rust tokenizers uses) → .NET regex. The tokenizer.json patterns of GPT-2, Llama-3,
/// Qwen and Mistral use only constructs both engines share (\p{..} classes, (?i:..), lookahead
/// (?!\S), {m,n}); possessive quantifiers (*+ ++ ?+) and atomic groups are rewritten as atomic
/// groups, and constructs .NET reads differently are rejected by name.
/// </summary>
public static class RegexTranslator
{
    public static Regex Translate(string pattern, string where)
    {
        if (pattern.Contains(@"\h", StringComparison.Ordinal) || pattern.Contains(@"\X", StringComparison.Ordinal) || pattern.Contains(@"\R", StringComparison.Ordinal))
            throw new NotSupportedException($"{where}: regex escape \\h, \\X or \\R (Oniguruma-only) in \"{pattern}\" is not supported");
        string translated = Regex.Replace(pattern, @"(\\p\{[A-Za-z_]+\}|\[[^\]]*\]|\\.|[^\\\[])(\*|\+|\?)\+", "(?>$1$2)");
        try { return new Regex(translated, RegexOptions.Compiled | RegexOptions.CultureInvariant); }
        catch (ArgumentException ex) { throw new NotSupportedException($"{where}: regex \"{pattern}\" cannot be translated to .NET: {ex.Message}"); }
    }
}
