using System.Text;

namespace Distill.Text.ChatTemplate;

/// <summary>
/// Splits a template into text and tags with Jinja's whitespace control, configured as
/// transformers configures it (trim_blocks=True, lstrip_blocks=True): the first newline after a
/// block tag is dropped, spaces/tabs before a block tag at the start of a line are dropped, and
/// "-" on a delimiter ({%- -%} {{- -}}) strips all whitespace on that side.
/// </summary>
static class JinjaLexer
{
    public enum Kind { Text, Output, Block }
    public readonly record struct Piece(Kind Kind, string Content, int Line);

    public static List<Piece> Split(string src)
    {
        var pieces = new List<Piece>();
        int i = 0;
        bool stripNext = false, trimNewline = false;
        while (i < src.Length)
        {
            int open = FindOpen(src, i);
            string text = src[i..(open < 0 ? src.Length : open)];
            if (stripNext) text = text.TrimStart();
            else if (trimNewline) text = text.StartsWith("\r\n") ? text[2..] : text.StartsWith('\n') ? text[1..] : text;
            stripNext = trimNewline = false;
            if (open < 0) { if (text.Length > 0) pieces.Add(new(Kind.Text, text, Line(src, i))); break; }
            char type = src[open + 1];
            bool minusLeft = open + 2 < src.Length && src[open + 2] == '-';
            if (minusLeft) text = text.TrimEnd();
            else if (type != '{' && !(open + 2 < src.Length && src[open + 2] == '+'))
            {
                int nl = text.LastIndexOf('\n');
                string tail = text[(nl + 1)..];
                int tailStart = open - tail.Length; // lstrip_blocks looks at the source line, before trim_blocks edits
                if (tail.All(c => c is ' ' or '\t') && (tailStart == 0 || src[tailStart - 1] == '\n')) text = text[..(nl + 1)];
            }
            if (text.Length > 0) pieces.Add(new(Kind.Text, text, Line(src, i)));
            string close = type == '{' ? "}}" : type == '%' ? "%}" : "#}";
            int end = type == '#' ? src.IndexOf(close, open + 2, StringComparison.Ordinal) : FindClose(src, open + 2, close);
            if (end < 0) throw new ChatTemplateException($"chat template line {Line(src, open)}: unclosed \"{src.Substring(open, 2)}\"");
            int contentStart = open + 2 + (minusLeft || (open + 2 < src.Length && src[open + 2] == '+') ? 1 : 0);
            bool minusRight = end > contentStart && src[end - 1] == '-';
            string content = src[contentStart..(minusRight ? end - 1 : end)].Trim();
            if (type != '#') pieces.Add(new(type == '{' ? Kind.Output : Kind.Block, content, Line(src, open)));
            stripNext = minusRight;
            trimNewline = !minusRight && type != '{';
            i = end + 2;
        }
        return pieces;
    }

    static int FindOpen(string s, int from)
    {
        for (int i = s.IndexOf('{', from); i >= 0 && i + 1 < s.Length; i = s.IndexOf('{', i + 1))
            if (s[i + 1] is '{' or '%' or '#') return i;
        return -1;
    }

    /// <summary>Finds the closing delimiter, skipping string literals (a "%}" inside quotes does not close).</summary>
    static int FindClose(string s, int from, string close)
    {
        char quote = '\0';
        for (int i = from; i + 1 < s.Length; i++)
        {
            char c = s[i];
            if (quote != '\0') { if (c == '\\') i++; else if (c == quote) quote = '\0'; continue; }
            if (c is '\'' or '"') { quote = c; continue; }
            if (c == close[0] && s[i + 1] == close[1]) return i;
        }
        return -1;
    }

    static int Line(string s, int index) => 1 + s.AsSpan(0, Math.Min(index, s.Length)).Count('\n');

    /// <summary>Expression tokens: names, numbers, strings (kept with their quote as first char), operators.</summary>
    public static List<string> Tokens(string expr, int line)
    {
        var tokens = new List<string>();
        int i = 0;
        while (i < expr.Length)
        {
            char c = expr[i];
            if (char.IsWhiteSpace(c)) { i++; continue; }
            if (char.IsLetter(c) || c == '_')
            {
                int j = i + 1;
                while (j < expr.Length && (char.IsLetterOrDigit(expr[j]) || expr[j] == '_')) j++;
                tokens.Add(expr[i..j]); i = j; continue;
            }
            if (char.IsDigit(c))
            {
                int j = i + 1;
                while (j < expr.Length && (char.IsDigit(expr[j]) || (expr[j] == '.' && j + 1 < expr.Length && char.IsDigit(expr[j + 1])))) j++;
                tokens.Add(expr[i..j]); i = j; continue;
            }
            if (c is '\'' or '"')
            {
                var sb = new StringBuilder().Append(c);
                int j = i + 1;
                for (; j < expr.Length && expr[j] != c; j++)
                {
                    if (expr[j] == '\\' && j + 1 < expr.Length)
                    {
                        j++;
                        sb.Append(expr[j] switch { 'n' => '\n', 't' => '\t', 'r' => '\r', '0' => '\0', _ => expr[j] });
                    }
                    else sb.Append(expr[j]);
                }
                if (j >= expr.Length) throw new ChatTemplateException($"chat template line {line}: unterminated string in \"{expr}\"");
                tokens.Add(sb.ToString()); i = j + 1; continue;
            }
            string two = i + 1 < expr.Length ? expr.Substring(i, 2) : "";
            if (two is "==" or "!=" or "<=" or ">=" or "//" or "**") { tokens.Add(two); i += 2; continue; }
            if ("+-*/%~|.,:()[]{}=<>".Contains(c)) { tokens.Add(c.ToString()); i++; continue; }
            throw new ChatTemplateException($"chat template line {line}: unexpected character '{c}' in \"{expr}\"");
        }
        return tokens;
    }
}
