using System.Numerics;
using System.Text;

namespace Distill.Data.BuiltInTask;

/// <summary>The Python types a built-in problem's values take.</summary>
public enum PyType { Int, Str, Bool, IntList, StrList }

/// <summary>
/// Python values as C# objects (BigInteger, string, bool, List&lt;BigInteger&gt;, List&lt;string&gt;),
/// with Python's repr and Python's integer semantics (floor division and modulo), so that the
/// expected outputs computed here are the ones CPython computes (checked in the sandbox).
/// </summary>
public static class PyValue
{
    public static string TypeHint(PyType t) => t switch
    {
        PyType.Int => "int", PyType.Str => "str", PyType.Bool => "bool",
        PyType.IntList => "list[int]", PyType.StrList => "list[str]",
        _ => throw new ArgumentOutOfRangeException(nameof(t)),
    };

    /// <summary>Python's repr. Strings hold only letters and spaces here, so '...' needs no escapes.</summary>
    public static string Repr(object v) => v switch
    {
        BigInteger i => i.ToString(System.Globalization.CultureInfo.InvariantCulture),
        bool b => b ? "True" : "False",
        string s => ReprStr(s),
        List<BigInteger> l => "[" + string.Join(", ", l.Select(x => Repr(x))) + "]",
        List<string> l => "[" + string.Join(", ", l.Select(ReprStr)) + "]",
        _ => throw new ArgumentException($"not a task value: {v.GetType().Name}"),
    };

    static string ReprStr(string s)
    {
        var b = new StringBuilder("'");
        foreach (var c in s)
        {
            if (c is '\\' or '\'') b.Append('\\').Append(c);
            else if (c < ' ' || c > '~') throw new ArgumentException($"character U+{(int)c:X4} is outside the task alphabet");
            else b.Append(c);
        }
        return b.Append('\'').ToString();
    }

    public static bool Equal(object a, object b) => Repr(a) == Repr(b);

    /// <summary>Python's <c>a % n</c> (sign of the divisor).</summary>
    public static BigInteger Mod(BigInteger a, BigInteger n)
    {
        var r = BigInteger.Remainder(a, n);
        return r != 0 && (r.Sign < 0) != (n.Sign < 0) ? r + n : r;
    }

    /// <summary>Python's <c>a // n</c> (floor).</summary>
    public static BigInteger FloorDiv(BigInteger a, BigInteger n) => (a - Mod(a, n)) / n;

    /// <summary>Python's <c>format(n, 'b')</c>.</summary>
    public static string Binary(BigInteger n)
    {
        if (n.IsZero) return "0";
        var m = BigInteger.Abs(n);
        var b = new StringBuilder();
        while (!m.IsZero) { b.Insert(0, m.IsEven ? '0' : '1'); m >>= 1; }
        return (n.Sign < 0 ? "-" : "") + b;
    }

    /// <summary>Python's <c>str.title()</c> for ASCII: a letter after a non-letter is upper-cased, others lower-cased.</summary>
    public static string Title(string s)
    {
        var b = new StringBuilder(s.Length);
        bool prevCased = false;
        foreach (var c in s)
        {
            bool letter = char.IsAsciiLetter(c);
            b.Append(letter ? (prevCased ? char.ToLowerInvariant(c) : char.ToUpperInvariant(c)) : c);
            prevCased = letter;
        }
        return b.ToString();
    }

    /// <summary>Python's <c>str.capitalize()</c>.</summary>
    public static string Capitalize(string s) => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..].ToLowerInvariant();

    public static string SwapCase(string s) => string.Concat(s.Select(c => char.IsAsciiLetterUpper(c) ? char.ToLowerInvariant(c) : char.IsAsciiLetterLower(c) ? char.ToUpperInvariant(c) : c));

    /// <summary>Python's <c>str.split()</c> without arguments (runs of whitespace; no empty parts).</summary>
    public static List<string> Split(string s) => s.Split([' ', '\t', '\n'], StringSplitOptions.RemoveEmptyEntries).ToList();
}
