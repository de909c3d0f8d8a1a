using System.Globalization;
using System.Text;

namespace Distill.Text.ChatTemplate;

/// <summary>
/// Python/Jinja semantics of values, operators, filters, tests and string/dict methods used by chat
/// templates. Anything else is a ChatTemplateException naming the filter, test or method.
/// </summary>
static class JinjaBuiltins
{
    public delegate object? Function(List<object?> args, Dictionary<string, object?> kwargs);

    public static Dictionary<string, object?> Globals() => new()
    {
        ["raise_exception"] = (Function)((a, _) => throw new ChatTemplateException(a.Count > 0 ? Str(a[0]) : "raise_exception")),
        ["namespace"] = (Function)((_, kw) => { var ns = new Namespace(); foreach (var (k, v) in kw) ns[k] = v; return ns; }),
        ["range"] = (Function)((a, _) =>
        {
            long start = a.Count > 1 ? Int(a[0]) : 0, stop = Int(a.Count > 1 ? a[1] : a[0]), step = a.Count > 2 ? Int(a[2]) : 1;
            var r = new List<object?>();
            for (long i = start; step > 0 ? i < stop : i > stop; i += step) r.Add(i);
            return r;
        }),
    };

    public static bool Truthy(object? v) => v switch
    {
        null or Undefined => false,
        bool b => b,
        long l => l != 0,
        double d => d != 0,
        string s => s.Length > 0,
        System.Collections.ICollection c => c.Count > 0,
        _ => true,
    };

    public static string TypeName(object? v) => v switch
    {
        null => "none", Undefined => "undefined", bool => "bool", long => "int", double => "float", string => "string",
        List<object?> => "list", Dictionary<string, object?> => "dict", _ => v.GetType().Name,
    };

    /// <summary>Python str(): None → "None", True → "True", lists/dicts as Python reprs.</summary>
    public static string Str(object? v) => v switch
    {
        null => "None",
        Undefined => "",
        string s => s,
        _ => Repr(v),
    };

    static string Repr(object? v) => v switch
    {
        null => "None",
        Undefined => "",
        bool b => b ? "True" : "False",
        long l => l.ToString(CultureInfo.InvariantCulture),
        double d => double.IsInteger(d) && Math.Abs(d) < 1e16 ? d.ToString("F1", CultureInfo.InvariantCulture) : d.ToString("R", CultureInfo.InvariantCulture),
        string s => "'" + s.Replace("\\", "\\\\").Replace("'", "\\'").Replace("\n", "\\n") + "'",
        List<object?> l => "[" + string.Join(", ", l.Select(Repr)) + "]",
        Dictionary<string, object?> d => "{" + string.Join(", ", d.Select(p => Repr(p.Key) + ": " + Repr(p.Value))) + "}",
        _ => v.ToString() ?? "",
    };

    static long Int(object? v) => v switch
    {
        long l => l, double d => (long)d, bool b => b ? 1 : 0,
        string s when long.TryParse(s.Trim(), CultureInfo.InvariantCulture, out long x) => x,
        _ => throw new ChatTemplateException($"chat template: expected an integer, got {TypeName(v)}"),
    };

    public static IEnumerable<object?> Iterate(object? v) => v switch
    {
        null or Undefined => [],
        string s => CodePoints.From(s).Select(cp => (object?)char.ConvertFromUtf32(cp)),
        List<object?> l => l,
        Dictionary<string, object?> d => d.Keys,
        _ => throw new ChatTemplateException($"chat template: {TypeName(v)} is not iterable"),
    };

    public static object? GetAttr(object? target, string name) => target switch
    {
        Dictionary<string, object?> d => d.TryGetValue(name, out var v) ? v : Undefined.Value,
        Undefined => throw new ChatTemplateException($"chat template: attribute '{name}' of an undefined value"),
        _ => Undefined.Value,
    };

    public static object? GetItem(object? target, object? index)
    {
        switch (target)
        {
            case Dictionary<string, object?> d: return index is string k && d.TryGetValue(k, out var v) ? v : Undefined.Value;
            case List<object?> l: { long i = Int(index); if (i < 0) i += l.Count; return i >= 0 && i < l.Count ? l[(int)i] : Undefined.Value; }
            case string s: { var cps = CodePoints.From(s); long i = Int(index); if (i < 0) i += cps.Length; return i >= 0 && i < cps.Length ? char.ConvertFromUtf32(cps[i]) : Undefined.Value; }
            case Undefined: throw new ChatTemplateException($"chat template: subscript [{Str(index)}] of an undefined value");
            default: return Undefined.Value;
        }
    }

    /// <summary>Python slicing x[start:stop:step] on lists and strings (code points).</summary>
    public static object? Slice(object? target, object? start, object? stop, object? step)
    {
        List<object?> items = target is string s ? CodePoints.From(s).Select(c => (object?)char.ConvertFromUtf32(c)).ToList()
            : target as List<object?> ?? throw new ChatTemplateException($"chat template: cannot slice {TypeName(target)}");
        int n = items.Count;
        long st = step == null ? 1 : Int(step);
        if (st == 0) throw new ChatTemplateException("chat template: slice step cannot be zero");
        long Clamp(object? v, long dflt)
        {
            if (v == null) return dflt;
            long x = Int(v);
            if (x < 0) x += n;
            return st > 0 ? Math.Clamp(x, 0, n) : Math.Clamp(x, -1, n - 1);
        }
        long a = Clamp(start, st > 0 ? 0 : n - 1), b = Clamp(stop, st > 0 ? n : -1);
        var result = new List<object?>();
        for (long i = a; st > 0 ? i < b : i > b; i += st) result.Add(items[(int)i]);
        return target is string ? string.Concat(result.Cast<string>()) : result;
    }

    public static bool Equal(object? a, object? b) => (a, b) switch
    {
        (null, null) => true,
        (Undefined, Undefined) => true,
        (long x, long y) => x == y,
        (long or double or bool, long or double or bool) => ToDouble(a) == ToDouble(b),
        (string x, string y) => x == y,
        (List<object?> x, List<object?> y) => x.Count == y.Count && x.Zip(y).All(p => Equal(p.First, p.Second)),
        (Dictionary<string, object?> x, Dictionary<string, object?> y) => x.Count == y.Count && x.All(p => y.TryGetValue(p.Key, out var v) && Equal(p.Value, v)),
        _ => false,
    };

    static double ToDouble(object? v) => v switch { long l => l, double d => d, bool b => b ? 1 : 0, _ => double.NaN };

    public static object? Binary(string op, object? l, object? r)
    {
        switch (op)
        {
            case "==": return Equal(l, r);
            case "!=": return !Equal(l, r);
            case "~": return Str(l) + Str(r);
            case "in":
                return r switch
                {
                    string s => l is string sub ? s.Contains(sub, StringComparison.Ordinal) : throw new ChatTemplateException($"chat template: 'in <string>' needs a string, got {TypeName(l)}"),
                    List<object?> list => list.Any(x => Equal(x, l)),
                    Dictionary<string, object?> d => l is string k && d.ContainsKey(k),
                    Undefined or null => throw new ChatTemplateException($"chat template: 'in' on {TypeName(r)}"),
                    _ => false,
                };
            case "<" or ">" or "<=" or ">=":
            {
                int c = l is string a && r is string b ? string.CompareOrdinal(a, b)
                    : l is long or double or bool && r is long or double or bool ? ToDouble(l).CompareTo(ToDouble(r))
                    : throw new ChatTemplateException($"chat template: cannot compare {TypeName(l)} {op} {TypeName(r)}");
                return op switch { "<" => c < 0, ">" => c > 0, "<=" => c <= 0, _ => c >= 0 };
            }
            case "+":
                if (l is string s1 && r is string s2) return s1 + s2;
                if (l is List<object?> l1 && r is List<object?> l2) return l1.Concat(l2).ToList();
                break;
        }
        if (l is long x && r is long y)
            return op switch
            {
                "+" => (object)(x + y), "-" => x - y, "*" => x * y,
                "/" => (object)((double)x / y),
                "//" => (long)Math.Floor((double)x / y),
                "%" => ((x % y) + y) % y,
                _ => throw new ChatTemplateException($"chat template: operator {op} is not supported"),
            };
        if (l is long or double && r is long or double)
        {
            double a = ToDouble(l), b = ToDouble(r);
            return op switch
            {
                "+" => a + b, "-" => a - b, "*" => a * b, "/" => a / b, "//" => Math.Floor(a / b), "%" => a - b * Math.Floor(a / b),
                _ => throw new ChatTemplateException($"chat template: operator {op} is not supported"),
            };
        }
        if (op == "*" && l is string rep && r is long times) return string.Concat(Enumerable.Repeat(rep, (int)Math.Max(0, times)));
        throw new ChatTemplateException($"chat template: unsupported operand types for {op}: {TypeName(l)} and {TypeName(r)}");
    }

    public static bool Test(string name, object? v, List<object?> args) => name switch
    {
        "defined" => v is not Undefined,
        "undefined" => v is Undefined,
        "none" => v is null,
        "string" => v is string,
        "number" => v is long or double,
        "integer" => v is long,
        "float" => v is double,
        "boolean" => v is bool,
        "true" => v is true,
        "false" => v is false,
        "mapping" => v is Dictionary<string, object?>,
        "sequence" or "iterable" => v is string or List<object?> or Dictionary<string, object?>,
        "equalto" or "eq" or "sameas" => Equal(v, args.Count > 0 ? args[0] : Undefined.Value),
        "ne" => !Equal(v, args.Count > 0 ? args[0] : Undefined.Value),
        "odd" => Int(v) % 2 != 0,
        "even" => Int(v) % 2 == 0,
        "in" => args.Count > 0 && Binary("in", v, args[0]) is true,
        _ => throw new ChatTemplateException($"chat template: test \"{name}\" is outside the supported Jinja subset"),
    };

    public static object? Filter(string name, object? v, List<object?> args, Dictionary<string, object?> kwargs)
    {
        switch (name)
        {
            case "length" or "count": return v switch { string s => (long)CodePoints.From(s).Length, System.Collections.ICollection c => (long)c.Count, _ => throw new ChatTemplateException($"chat template: length of {TypeName(v)}") };
            case "trim": return Str(v).Trim();
            case "upper": return Str(v).ToUpperInvariant();
            case "lower": return Str(v).ToLowerInvariant();
            case "capitalize": { string s = Str(v); return s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..].ToLowerInvariant(); }
            case "string": return Str(v);
            case "int": return v is string s2 && double.TryParse(s2, CultureInfo.InvariantCulture, out double dv) ? (long)dv : Int(v);
            case "float": return v is string s3 ? double.Parse(s3, CultureInfo.InvariantCulture) : ToDouble(v);
            case "abs": return v is long l ? (object)Math.Abs(l) : Math.Abs(ToDouble(v));
            case "list": return Iterate(v).ToList();
            case "first": return Iterate(v).FirstOrDefault(Undefined.Value);
            case "last": { var l2 = Iterate(v).ToList(); return l2.Count > 0 ? l2[^1] : Undefined.Value; }
            case "reverse": return v is string rs ? string.Concat(Iterate(rs).Reverse().Cast<string>()) : Iterate(v).Reverse().ToList();
            case "join": return string.Join(args.Count > 0 ? Str(args[0]) : "", Iterate(v).Select(Str));
            case "replace": return Str(v).Replace(Str(args[0]), Str(args[1]), StringComparison.Ordinal);
            case "default" or "d":
            {
                bool boolean = args.Count > 1 && Truthy(args[1]) || kwargs.TryGetValue("boolean", out var bo) && Truthy(bo);
                object? fallback = args.Count > 0 ? args[0] : kwargs.GetValueOrDefault("default_value", "");
                return v is Undefined || (boolean && !Truthy(v)) ? fallback : v;
            }
            case "items": return v is Dictionary<string, object?> d ? d.Select(p => (object?)new List<object?> { p.Key, p.Value }).ToList() : throw new ChatTemplateException($"chat template: items of {TypeName(v)}");
            case "tojson": return ToJson(v, kwargs.TryGetValue("indent", out var ind) && ind is long n ? (int)n : null);
            case "selectattr" or "rejectattr":
            {
                string attr = Str(args[0]);
                bool keep = name == "selectattr";
                return Iterate(v).Where(x =>
                {
                    var a = GetAttr(x, attr);
                    bool t = args.Count > 1 ? Test(Str(args[1]), a, args.Skip(2).ToList()) : Truthy(a);
                    return t == keep;
                }).ToList();
            }
            case "map":
                if (kwargs.TryGetValue("attribute", out var at)) return Iterate(v).Select(x => GetAttr(x, Str(at))).ToList();
                if (args.Count > 0) return Iterate(v).Select(x => Filter(Str(args[0]), x, args.Skip(1).ToList(), [])).ToList();
                break;
            case "safe": return v;
        }
        throw new ChatTemplateException($"chat template: filter \"{name}\" is outside the supported Jinja subset");
    }

    public static object? CallMethod(object? target, string name, List<object?> args, Dictionary<string, object?> kwargs)
    {
        if (target is string s)
        {
            string? chars = args.Count > 0 && args[0] is string c ? c : null;
            switch (name)
            {
                case "startswith": return args[0] is List<object?> ps ? ps.Any(p => s.StartsWith(Str(p), StringComparison.Ordinal)) : s.StartsWith(Str(args[0]), StringComparison.Ordinal);
                case "endswith": return args[0] is List<object?> pe ? pe.Any(p => s.EndsWith(Str(p), StringComparison.Ordinal)) : s.EndsWith(Str(args[0]), StringComparison.Ordinal);
                case "strip": return chars == null ? s.Trim() : s.Trim(chars.ToCharArray());
                case "lstrip": return chars == null ? s.TrimStart() : s.TrimStart(chars.ToCharArray());
                case "rstrip": return chars == null ? s.TrimEnd() : s.TrimEnd(chars.ToCharArray());
                case "upper": return s.ToUpperInvariant();
                case "lower": return s.ToLowerInvariant();
                case "replace": return s.Replace(Str(args[0]), Str(args[1]), StringComparison.Ordinal);
                case "split":
                {
                    long max = args.Count > 1 ? Int(args[1]) : -1;
                    if (chars == null) return s.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Select(x => (object?)x).ToList();
                    var parts = max < 0 ? s.Split(chars) : s.Split(chars, (int)max + 1);
                    return parts.Select(x => (object?)x).ToList();
                }
            }
        }
        if (target is Dictionary<string, object?> d)
        {
            switch (name)
            {
                case "items": return Filter("items", d, [], []);
                case "keys": return d.Keys.Select(k => (object?)k).ToList();
                case "values": return d.Values.ToList();
                case "get": return d.TryGetValue(Str(args[0]), out var v) ? v : args.Count > 1 ? args[1] : null;
            }
        }
        throw new ChatTemplateException($"chat template: method {TypeName(target)}.{name}() is outside the supported Jinja subset");
    }

    /// <summary>transformers' tojson: json.dumps(ensure_ascii=False) with ", " and ": " separators (or indent).</summary>
    public static string ToJson(object? v, int? indent = null, int depth = 0)
    {
        string nl = indent == null ? "" : "\n" + new string(' ', indent.Value * (depth + 1));
        string end = indent == null ? "" : "\n" + new string(' ', indent.Value * depth);
        string sep = indent == null ? ", " : ",";
        switch (v)
        {
            case null or Undefined: return "null";
            case bool b: return b ? "true" : "false";
            case long or double: return Repr(v);
            case string s:
            {
                var sb = new StringBuilder("\"");
                foreach (char c in s)
                    sb.Append(c switch { '"' => "\\\"", '\\' => "\\\\", '\n' => "\\n", '\r' => "\\r", '\t' => "\\t", '\b' => "\\b", '\f' => "\\f", < ' ' => $"\\u{(int)c:x4}", _ => c.ToString() });
                return sb.Append('"').ToString();
            }
            case List<object?> l: return l.Count == 0 ? "[]" : "[" + nl + string.Join(sep + nl, l.Select(x => ToJson(x, indent, depth + 1))) + end + "]";
            case Dictionary<string, object?> d: return d.Count == 0 ? "{}" : "{" + nl + string.Join(sep + nl, d.Select(p => ToJson(p.Key) + ": " + ToJson(p.Value, indent, depth + 1))) + end + "}";
        }
        throw new ChatTemplateException($"chat template: tojson of {TypeName(v)}");
    }
}
