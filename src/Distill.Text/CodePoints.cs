using System.Globalization;
using System.Text;

namespace Distill.Text;

/// <summary>UTF-16 ⇄ code point helpers.</summary>
public static class CodePoints
{
    public static int[] From(string s)
    {
        var list = new int[s.Length];
        int n = 0;
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1])) { list[n++] = char.ConvertToUtf32(c, s[i + 1]); i++; }
            else list[n++] = c;
        }
        return n == list.Length ? list : list.AsSpan(0, n).ToArray();
    }

    public static string ToUtf16(ReadOnlySpan<int> cps)
    {
        var sb = new StringBuilder(cps.Length);
        foreach (int cp in cps) Append(sb, cp);
        return sb.ToString();
    }

    public static void Append(StringBuilder sb, int cp)
    {
        if (cp < 0x10000) sb.Append((char)cp);
        else { sb.Append((char)(0xD800 + ((cp - 0x10000) >> 10))); sb.Append((char)(0xDC00 + ((cp - 0x10000) & 0x3FF))); }
    }

    public static UnicodeCategory Category(int cp) =>
        cp < 0x10000 ? CharUnicodeInfo.GetUnicodeCategory((char)cp) : CharUnicodeInfo.GetUnicodeCategory(cp);

    /// <summary>Unicode White_Space (what Rust's char::is_whitespace tests).</summary>
    public static bool IsWhiteSpace(int cp) =>
        cp is (>= 9 and <= 13) or 0x20 or 0x85 or 0xA0 or 0x1680 or (>= 0x2000 and <= 0x200A) or 0x2028 or 0x2029 or 0x202F or 0x205F or 0x3000;

    /// <summary>
    /// The regex crate's Unicode \w (UTS #18 Annex C: Alphabetic, Mark, Decimal_Number,
    /// Connector_Punctuation, Join_Control), which Rust's added_vocabulary.rs uses for single_word.
    /// Alphabetic = letters, Nl and Other_Alphabetic; Other_Alphabetic outside the mark categories
    /// is only the circled/parenthesized/squared Latin letters (So). Checked on every code point
    /// against tests/Distill.Text.Tests/expected/word_chars.txt.
    /// </summary>
    public static bool IsWordChar(int cp)
    {
        if (cp < 0x80) return (uint)((cp | 0x20) - 'a') <= 'z' - 'a' || (uint)(cp - '0') <= 9 || cp == '_';
        switch (Category(cp))
        {
            case UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
                or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter or UnicodeCategory.LetterNumber
                or UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark
                or UnicodeCategory.DecimalDigitNumber or UnicodeCategory.ConnectorPunctuation:
                return true;
        }
        return cp is 0x200C or 0x200D or (>= 0x24B6 and <= 0x24E9) or (>= 0x1F130 and <= 0x1F149) or (>= 0x1F150 and <= 0x1F169) or (>= 0x1F170 and <= 0x1F189);
    }

    public static int Utf8Length(int cp) => cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;

    /// <summary>
    /// A string with exactly one UTF-16 unit per code point, so .NET regex indices are code point
    /// indices: astral code points (which .NET's \p{..} cannot see through surrogates) become a BMP
    /// stand-in of the same general category ('𝐀' U+1D400 Lu → 'A'). Only category-based classes
    /// (\p{L}, \p{N}, \s, [^...]) may be used on it, which is what tokenizer.json regexes use.
    /// </summary>
    public static string CategoryProxy(ReadOnlySpan<int> cps)
    {
        var chars = cps.Length <= 256 ? stackalloc char[cps.Length] : new char[cps.Length];
        for (int i = 0; i < cps.Length; i++) chars[i] = cps[i] < 0x10000 ? (char)cps[i] : StandIn(CharUnicodeInfo.GetUnicodeCategory(cps[i]));
        return new string(chars);
    }

    static char StandIn(UnicodeCategory c) => c switch
    {
        UnicodeCategory.UppercaseLetter => 'A',
        UnicodeCategory.LowercaseLetter => 'a',
        UnicodeCategory.TitlecaseLetter => '\u01C5',
        UnicodeCategory.ModifierLetter => '\u02B0',
        UnicodeCategory.OtherLetter => '\u05D0',
        UnicodeCategory.NonSpacingMark => '\u0300',
        UnicodeCategory.SpacingCombiningMark => '\u0903',
        UnicodeCategory.EnclosingMark => '\u20DD',
        UnicodeCategory.DecimalDigitNumber => '0',
        UnicodeCategory.LetterNumber => '\u2160',
        UnicodeCategory.OtherNumber => '\u00B2',
        UnicodeCategory.PrivateUse => '\uE000',
        UnicodeCategory.MathSymbol => '+',
        UnicodeCategory.CurrencySymbol => '$',
        UnicodeCategory.ConnectorPunctuation => '_',
        UnicodeCategory.DashPunctuation => '-',
        UnicodeCategory.OpenPunctuation => '(',
        UnicodeCategory.ClosePunctuation => ')',
        UnicodeCategory.OtherPunctuation => '!',
        UnicodeCategory.Format => '\u200B',
        UnicodeCategory.Control => '\u0001',
        UnicodeCategory.Surrogate => '\uD800',
        UnicodeCategory.OtherNotAssigned => '\u0378',
        _ => '\u00A9', // OtherSymbol, ModifierSymbol and anything else: a symbol
    };
}
