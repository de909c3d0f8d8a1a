using System.Globalization;

namespace Distill.Text.ChatTemplate;

/// <summary>
/// Parses the supported Jinja subset: {% if/elif/else/endif %}, {% for a[, b] in x [if c] %}…{% else %}…{% endfor %},
/// {% set x = … %} / {% set ns.x = … %}, {{ … }}; expressions with Jinja's precedence
/// (if-else &lt; or &lt; and &lt; not &lt; comparisons/in/is &lt; ~ + - &lt; * / // % &lt; unary &lt; | filters &lt; . [] () ).
/// Any other tag (macro, call, include, raw, block, filter, with, break…) is a ChatTemplateException naming it.
/// </summary>
sealed class JinjaParser
{
    readonly List<JinjaLexer.Piece> _pieces;
    int _p;
    List<string> _t = [];
    int _i, _line;

    JinjaParser(List<JinjaLexer.Piece> pieces) => _pieces = pieces;

    public static List<Node> Parse(string template)
    {
        var parser = new JinjaParser(JinjaLexer.Split(template));
        var body = parser.Block(out string? end);
        if (end != null) throw new ChatTemplateException($"chat template line {parser._line}: unexpected {{% {end} %}}");
        return body;
    }

    /// <summary>Parses nodes until a block tag whose keyword is not a statement start (endif, else, …), returned in <paramref name="end"/>.</summary>
    List<Node> Block(out string? end)
    {
        var nodes = new List<Node>();
        while (_p < _pieces.Count)
        {
            var piece = _pieces[_p++];
            _line = piece.Line;
            if (piece.Kind == JinjaLexer.Kind.Text) { nodes.Add(new TextNode(piece.Content)); continue; }
            Begin(piece);
            if (piece.Kind == JinjaLexer.Kind.Output) { nodes.Add(new OutputNode(Expression())); Finish(); continue; }
            string keyword = Next();
            switch (keyword)
            {
                case "if": nodes.Add(If()); break;
                case "for": nodes.Add(For()); break;
                case "set": nodes.Add(Set()); break;
                case "elif" or "else" or "endif" or "endfor": end = keyword; return nodes;
                default: throw new ChatTemplateException($"chat template line {_line}: {{% {keyword} %}} is outside the supported Jinja subset");
            }
        }
        end = null;
        return nodes;
    }

    IfNode If()
    {
        var branches = new List<(Expr, List<Node>)>();
        var test = Expression(); Finish();
        while (true)
        {
            var body = Block(out string? end);
            branches.Add((test, body));
            if (end == "elif") { test = Expression(); Finish(); continue; }
            if (end == "else") { Finish(); var elseBody = Block(out end); Expect(end, "endif"); Finish(); return new IfNode(branches, elseBody); }
            Expect(end, "endif"); Finish();
            return new IfNode(branches, null);
        }
    }

    ForNode For()
    {
        var targets = new List<string> { Name() };
        while (Peek() == ",") { _i++; targets.Add(Name()); }
        if (Next() != "in") throw Error("expected 'in' in for loop");
        var iterable = Ternary(allowCondition: false);
        Expr? filter = null;
        if (Peek() == "if") { _i++; filter = Ternary(allowCondition: false); }
        if (Peek() == "recursive") throw Error("recursive for loops are outside the supported Jinja subset");
        Finish();
        var body = Block(out string? end);
        List<Node>? elseBody = null;
        if (end == "else") { Finish(); elseBody = Block(out end); }
        Expect(end, "endfor"); Finish();
        return new ForNode(targets.ToArray(), iterable, filter, body, elseBody);
    }

    SetNode Set()
    {
        string name = Name();
        string? attr = null;
        if (Peek() == ".") { _i++; attr = Name(); }
        if (Peek() != "=") throw Error(Peek() == null ? "block {% set %} … {% endset %} is outside the supported Jinja subset" : "expected '=' in set");
        _i++;
        var value = Expression();
        Finish();
        return new SetNode(name, attr, value);
    }

    void Expect(string? end, string keyword)
    {
        if (end != keyword) throw new ChatTemplateException($"chat template line {_line}: expected {{% {keyword} %}}, found {(end == null ? "end of template" : "{% " + end + " %}")}");
    }

    void Begin(JinjaLexer.Piece piece) { _t = JinjaLexer.Tokens(piece.Content, piece.Line); _i = 0; }
    void Finish() { if (_i < _t.Count) throw Error($"unexpected '{_t[_i]}'"); }
    string? Peek(int k = 0) => _i + k < _t.Count ? _t[_i + k] : null;
    string Next() => _i < _t.Count ? _t[_i++] : throw Error("unexpected end of tag");
    ChatTemplateException Error(string what) => new($"chat template line {_line}: {what} in \"{string.Join(" ", _t)}\"");
    static bool IsName(string? t) => t != null && (char.IsLetter(t[0]) || t[0] == '_');
    string Name() { string t = Next(); return IsName(t) ? t : throw Error($"expected a name, found '{t}'"); }
    bool Accept(string t) { if (Peek() == t) { _i++; return true; } return false; }

    Expr Expression() => Ternary(allowCondition: true);

    Expr Ternary(bool allowCondition)
    {
        var value = Or();
        if (allowCondition && Peek() == "if")
        {
            _i++;
            var test = Or();
            Expr? otherwise = Accept("else") ? Ternary(true) : null;
            return new CondExpr(test, value, otherwise);
        }
        return value;
    }

    Expr Or() { var l = And(); while (Accept("or")) l = new BinaryExpr("or", l, And()); return l; }
    Expr And() { var l = Not(); while (Accept("and")) l = new BinaryExpr("and", l, Not()); return l; }
    Expr Not() => Accept("not") ? new UnaryExpr("not", Not()) : Compare();

    Expr Compare()
    {
        var l = Concat();
        while (true)
        {
            string? t = Peek();
            if (t is "==" or "!=" or "<" or ">" or "<=" or ">=") { _i++; l = new BinaryExpr(t, l, Concat()); }
            else if (t == "in") { _i++; l = new BinaryExpr("in", l, Concat()); }
            else if (t == "not" && Peek(1) == "in") { _i += 2; l = new UnaryExpr("not", new BinaryExpr("in", l, Concat())); }
            else if (t == "is")
            {
                _i++;
                bool negated = Accept("not");
                string name = Next();
                if (name is "none" or "true" or "false") name = name.ToLowerInvariant();
                var args = new List<Expr>();
                if (Accept("(")) { args = Arguments(out _); }
                else if (Peek() is { } a && (a[0] is '\'' or '"' || char.IsDigit(a[0]) || (IsName(a) && a is not ("and" or "or" or "else" or "if" or "is" or "in" or "not")))) args.Add(Concat());
                l = new TestExpr(l, name, args, negated);
            }
            else return l;
        }
    }

    Expr Concat() { var l = Additive(); while (Accept("~")) l = new BinaryExpr("~", l, Additive()); return l; }

    Expr Additive()
    {
        var l = Multiplicative();
        while (Peek() is "+" or "-") { string op = Next(); l = new BinaryExpr(op, l, Multiplicative()); }
        return l;
    }

    Expr Multiplicative()
    {
        var l = Unary();
        while (Peek() is "*" or "/" or "//" or "%") { string op = Next(); l = new BinaryExpr(op, l, Unary()); }
        return l;
    }

    Expr Unary() => Peek() is "-" or "+" ? new UnaryExpr(Next(), Unary()) : Filtered();

    Expr Filtered()
    {
        var value = Postfix(Primary());
        while (Accept("|"))
        {
            string name = Name();
            var args = new List<Expr>();
            var kwargs = new List<(string, Expr)>();
            if (Accept("(")) args = Arguments(out kwargs);
            value = Postfix(new FilterExpr(value, name, args, kwargs));
        }
        return value;
    }

    Expr Postfix(Expr e)
    {
        while (true)
        {
            if (Accept(".")) e = new AttrExpr(e, Name());
            else if (Accept("(")) { var args = Arguments(out var kw); e = new CallExpr(e, args, kw); }
            else if (Accept("["))
            {
                Expr? start = null, stop = null, step = null;
                if (Peek() != ":") start = Expression();
                if (Accept(":"))
                {
                    if (Peek() is not (":" or "]")) stop = Expression();
                    if (Accept(":") && Peek() != "]") step = Expression();
                    e = new SliceExpr(e, start, stop, step);
                }
                else e = new ItemExpr(e, start ?? throw Error("empty subscript"));
                if (!Accept("]")) throw Error("expected ']'");
            }
            else return e;
        }
    }

    /// <summary>Call arguments after "(" up to ")": positional then name=value.</summary>
    List<Expr> Arguments(out List<(string, Expr)> kwargs)
    {
        var args = new List<Expr>();
        kwargs = [];
        while (!Accept(")"))
        {
            if (IsName(Peek()) && Peek(1) == "=") { string n = Next(); _i++; kwargs.Add((n, Expression())); }
            else args.Add(Expression());
            if (!Accept(",") && Peek() != ")") throw Error("expected ',' or ')'");
        }
        return args;
    }

    Expr Primary()
    {
        string t = Next();
        if (t[0] is '\'' or '"')
        {
            string s = t[1..];
            while (Peek() is { } n && n[0] is '\'' or '"') s += Next()[1..]; // adjacent literals concatenate
            return new LiteralExpr(s);
        }
        if (char.IsDigit(t[0]))
            return new LiteralExpr(t.Contains('.') ? (object)double.Parse(t, CultureInfo.InvariantCulture) : (object)long.Parse(t, CultureInfo.InvariantCulture));
        switch (t)
        {
            case "true" or "True": return new LiteralExpr(true);
            case "false" or "False": return new LiteralExpr(false);
            case "none" or "None": return new LiteralExpr(null);
            case "(":
            {
                if (Accept(")")) return new ListExpr([]);
                var first = Expression();
                if (Accept(")")) return first;
                var items = new List<Expr> { first };
                while (Accept(",")) { if (Peek() == ")") break; items.Add(Expression()); }
                if (!Accept(")")) throw Error("expected ')'");
                return new ListExpr(items);
            }
            case "[":
            {
                var items = new List<Expr>();
                while (!Accept("]")) { items.Add(Expression()); if (!Accept(",") && Peek() != "]") throw Error("expected ',' or ']'"); }
                return new ListExpr(items);
            }
            case "{":
            {
                var items = new List<(Expr, Expr)>();
                while (!Accept("}"))
                {
                    var k = Expression();
                    if (!Accept(":")) throw Error("expected ':' in dict literal");
                    items.Add((k, Expression()));
                    if (!Accept(",") && Peek() != "}") throw Error("expected ',' or '}'");
                }
                return new DictExpr(items);
            }
        }
        if (IsName(t)) return new NameExpr(t);
        throw Error($"unexpected '{t}'");
    }
}
