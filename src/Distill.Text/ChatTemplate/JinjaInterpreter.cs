using System.Text;

namespace Distill.Text.ChatTemplate;

/// <summary>Jinja's undefined value: falsy, prints as "", "is defined" is false.</summary>
sealed class Undefined
{
    public static readonly Undefined Value = new();
    public override string ToString() => "";
}

/// <summary>namespace(): a mutable attribute bag that {% set ns.x = … %} writes through loop scopes.</summary>
sealed class Namespace : Dictionary<string, object?>;

/// <summary>
/// Evaluates parsed templates. Values are Python-like: null (None), bool, long, double, string,
/// List&lt;object?&gt;, Dictionary&lt;string, object?&gt;, Undefined. Scoping as in Jinja: a for
/// loop body gets a fresh scope per iteration, so {% set %} inside it does not leak out.
/// </summary>
sealed class JinjaInterpreter
{
    readonly List<Dictionary<string, object?>> _scopes = [];
    readonly StringBuilder _out = new();

    public static string Render(List<Node> template, Dictionary<string, object?> globals)
    {
        var it = new JinjaInterpreter();
        it._scopes.Add(JinjaBuiltins.Globals());
        it._scopes.Add(new Dictionary<string, object?>(globals));
        it.Run(template);
        return it._out.ToString();
    }

    void Run(List<Node> nodes)
    {
        foreach (var node in nodes)
        {
            switch (node)
            {
                case TextNode t: _out.Append(t.Text); break;
                case OutputNode o: _out.Append(JinjaBuiltins.Str(Eval(o.Value))); break;
                case IfNode i:
                {
                    var branch = i.Branches.FirstOrDefault(b => JinjaBuiltins.Truthy(Eval(b.Test)));
                    if (branch.Body != null) Run(branch.Body);
                    else if (i.Else != null) Run(i.Else);
                    break;
                }
                case ForNode f: For(f); break;
                case SetNode s:
                {
                    var value = Eval(s.Value);
                    if (s.Attribute == null) _scopes[^1][s.Name] = value;
                    else if (Lookup(s.Name) is Namespace ns) ns[s.Attribute] = value;
                    else throw new ChatTemplateException($"chat template: {{% set {s.Name}.{s.Attribute} %}} needs {s.Name} to be a namespace()");
                    break;
                }
            }
        }
    }

    void For(ForNode f)
    {
        var items = JinjaBuiltins.Iterate(Eval(f.Iterable)).ToList();
        if (f.Filter != null)
            items = items.Where(item => { _scopes.Add(Bind(f.Targets, item)); try { return JinjaBuiltins.Truthy(Eval(f.Filter)); } finally { _scopes.RemoveAt(_scopes.Count - 1); } }).ToList();
        if (items.Count == 0) { if (f.Else != null) Run(f.Else); return; }
        for (int k = 0; k < items.Count; k++)
        {
            var scope = Bind(f.Targets, items[k]);
            scope["loop"] = new Dictionary<string, object?>
            {
                ["index"] = (long)(k + 1), ["index0"] = (long)k, ["first"] = k == 0, ["last"] = k == items.Count - 1,
                ["length"] = (long)items.Count, ["revindex"] = (long)(items.Count - k), ["revindex0"] = (long)(items.Count - k - 1),
                ["previtem"] = k > 0 ? items[k - 1] : Undefined.Value, ["nextitem"] = k + 1 < items.Count ? items[k + 1] : Undefined.Value,
            };
            _scopes.Add(scope);
            try { Run(f.Body); } finally { _scopes.RemoveAt(_scopes.Count - 1); }
        }
    }

    static Dictionary<string, object?> Bind(string[] targets, object? item)
    {
        var scope = new Dictionary<string, object?>();
        if (targets.Length == 1) { scope[targets[0]] = item; return scope; }
        var parts = JinjaBuiltins.Iterate(item).ToList();
        if (parts.Count != targets.Length) throw new ChatTemplateException($"chat template: cannot unpack {parts.Count} values into {string.Join(", ", targets)}");
        for (int i = 0; i < targets.Length; i++) scope[targets[i]] = parts[i];
        return scope;
    }

    object? Lookup(string name)
    {
        for (int i = _scopes.Count - 1; i >= 0; i--)
            if (_scopes[i].TryGetValue(name, out var v)) return v;
        return Undefined.Value;
    }

    object? Eval(Expr e)
    {
        switch (e)
        {
            case LiteralExpr l: return l.Value;
            case NameExpr n: return Lookup(n.Name);
            case AttrExpr a: return JinjaBuiltins.GetAttr(Eval(a.Target), a.Name);
            case ItemExpr i: return JinjaBuiltins.GetItem(Eval(i.Target), Eval(i.Index));
            case SliceExpr s: return JinjaBuiltins.Slice(Eval(s.Target), s.Start == null ? null : Eval(s.Start), s.Stop == null ? null : Eval(s.Stop), s.Step == null ? null : Eval(s.Step));
            case ListExpr l: return l.Items.Select(Eval).ToList();
            case DictExpr d: return d.Items.ToDictionary(p => JinjaBuiltins.Str(Eval(p.Key)), p => Eval(p.Value));
            case CondExpr c: return JinjaBuiltins.Truthy(Eval(c.Test)) ? Eval(c.Then) : c.Else == null ? Undefined.Value : Eval(c.Else);
            case UnaryExpr u:
            {
                var v = Eval(u.Operand);
                return u.Op switch
                {
                    "not" => !JinjaBuiltins.Truthy(v),
                    "-" => v is long x ? -x : v is double d ? -d : throw new ChatTemplateException($"chat template: cannot negate {JinjaBuiltins.TypeName(v)}"),
                    _ => v,
                };
            }
            case BinaryExpr b:
                if (b.Op == "and") { var l = Eval(b.Left); return JinjaBuiltins.Truthy(l) ? Eval(b.Right) : l; }
                if (b.Op == "or") { var l = Eval(b.Left); return JinjaBuiltins.Truthy(l) ? l : Eval(b.Right); }
                return JinjaBuiltins.Binary(b.Op, Eval(b.Left), Eval(b.Right));
            case FilterExpr f:
                return JinjaBuiltins.Filter(f.Name, Eval(f.Value), f.Args.Select(Eval).ToList(), f.Kwargs.ToDictionary(k => k.Name, k => Eval(k.Value)));
            case TestExpr t:
            {
                bool r = JinjaBuiltins.Test(t.Name, Eval(t.Value), t.Args.Select(Eval).ToList());
                return t.Negated ? !r : r;
            }
            case CallExpr c:
            {
                var args = c.Args.Select(Eval).ToList();
                var kwargs = c.Kwargs.ToDictionary(k => k.Name, k => Eval(k.Value));
                if (c.Callee is AttrExpr m) return JinjaBuiltins.CallMethod(Eval(m.Target), m.Name, args, kwargs);
                if (c.Callee is NameExpr n && Lookup(n.Name) is JinjaBuiltins.Function fn) return fn(args, kwargs);
                throw new ChatTemplateException($"chat template: {(c.Callee is NameExpr nn ? nn.Name : "expression")} is not a supported function");
            }
        }
        throw new ChatTemplateException($"chat template: unsupported expression {e.GetType().Name}");
    }
}
