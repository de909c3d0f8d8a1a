using System.Globalization;
using System.Text;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Distill.Methods.Runs;

/// <summary>
/// A run's recipe: every key of <see cref="RecipeSchema"/> with its value (from the YAML file, a
/// --set override, or the default). Loading fails fast on malformed YAML, an unknown key, a value
/// of the wrong kind, or a missing required key, naming the file, line and key.
/// </summary>
public sealed class Recipe
{
    readonly Dictionary<string, object?> _values;

    /// <summary>The recipe file (null for recipes built in code); relative data paths resolve against its folder.</summary>
    public string? SourcePath { get; }

    Recipe(Dictionary<string, object?> values, string? sourcePath) { _values = values; SourcePath = sourcePath; }

    public object? this[string key] => RecipeSchema.ByPath.ContainsKey(key) ? _values[key] : throw new KeyNotFoundException($"no recipe key '{key}'");
    public string String(string key) => (string?)this[key] ?? "";
    public long Int(string key) => (long)this[key]!;
    public double Float(string key) => (double)this[key]!;
    public double? OptionalFloat(string key) => (double?)this[key];
    public IReadOnlyList<string> List(string key) => (List<string>)this[key]!;

    public string Name => String("name");
    public string Method => String("method");

    public static Recipe Load(string path, IEnumerable<string>? overrides = null)
    {
        if (!File.Exists(path)) throw new RecipeException(path, null, null, "no such file");
        return Parse(File.ReadAllText(path), path, overrides, Path.GetFullPath(path));
    }

    public static Recipe Parse(string yaml, string source, IEnumerable<string>? overrides = null, string? sourcePath = null)
    {
        var values = new Dictionary<string, object?>();
        var root = LoadDocument(yaml, source);
        if (root is not null)
        {
            if (root is not YamlMappingNode map) throw new RecipeException(source, Line(root), null, "a recipe is a mapping of keys (name: ..., method: ..., data: {...})");
            Walk(map, "", source, values);
        }
        foreach (var o in overrides ?? [])
        {
            int eq = o.IndexOf('=');
            if (eq <= 0) throw new RecipeException("--set", null, null, $"'{o}' is not KEY=VALUE");
            var key = o[..eq].Trim();
            if (!RecipeSchema.ByPath.TryGetValue(key, out var spec)) throw Unknown("--set", null, key);
            // a string takes the text as it is; other kinds parse it as YAML ("[a, b]", "1e-4", "null")
            var text = o[(eq + 1)..];
            var node = spec.Kind == RecipeKind.String ? new YamlScalarNode(text) { Style = ScalarStyle.DoubleQuoted }
                : LoadDocument(text, $"--set {key}") ?? new YamlScalarNode("");
            values[key] = Convert(spec, node, "--set", withLines: false);
        }
        foreach (var k in RecipeSchema.Keys)
        {
            if (values.ContainsKey(k.Path)) continue;
            if (k.Required) throw new RecipeException(source, null, k.Path, $"is required ({k.Help})");
            values[k.Path] = k.Default is List<string> l ? new List<string>(l) : k.Default;
        }
        var recipe = new Recipe(values, sourcePath);
        recipe.Validate(source);
        return recipe;
    }

    static YamlNode? LoadDocument(string text, string source)
    {
        var stream = new YamlStream();
        try { stream.Load(new StringReader(text)); }
        catch (YamlException e) { throw new RecipeException(source, (int)e.Start.Line, null, $"malformed YAML: {e.InnerException?.Message ?? e.Message}"); }
        if (stream.Documents.Count > 1) throw new RecipeException(source, Line(stream.Documents[1].RootNode), null, "one YAML document expected");
        return stream.Documents.Count == 0 ? null : stream.Documents[0].RootNode;
    }

    static int Line(YamlNode n) => (int)n.Start.Line;

    static RecipeException Unknown(string source, int? line, string key)
    {
        if (key.Split('.')[^1].Contains("api_key", StringComparison.OrdinalIgnoreCase) || key.Split('.')[^1].Equals("key", StringComparison.OrdinalIgnoreCase))
            return new RecipeException(source, line, key, "API keys never go in a recipe: put the key in an environment variable and name the variable with teacher.api_key_env");
        var hint = RecipeSchema.Closest(key) is { } c ? $" (did you mean '{c}'?)" : "";
        return new RecipeException(source, line, key, $"unknown key{hint}");
    }

    static void Walk(YamlMappingNode map, string prefix, string source, Dictionary<string, object?> values)
    {
        foreach (var (k, v) in map.Children)
        {
            if (k is not YamlScalarNode { Value: { } name }) throw new RecipeException(source, Line(k), null, "keys must be plain names");
            var path = prefix.Length == 0 ? name : prefix + "." + name;
            if (RecipeSchema.ByPath.TryGetValue(path, out var spec))
            {
                if (values.ContainsKey(path)) throw new RecipeException(source, Line(k), path, "given twice");
                values[path] = Convert(spec, v, source);
            }
            else if (RecipeSchema.IsSection(path))
            {
                if (v is not YamlMappingNode sub) throw new RecipeException(source, Line(v), path, "is a section: expected a mapping of its keys");
                Walk(sub, path, source, values);
            }
            else throw Unknown(source, Line(k), path);
        }
    }

    static object? Convert(RecipeKey spec, YamlNode node, string source, bool withLines = true)
    {
        int? Line(YamlNode n) => withLines ? Recipe.Line(n) : null;
        if (spec.Kind == RecipeKind.List)
        {
            if (node is not YamlSequenceNode seq) throw new RecipeException(source, Line(node), spec.Path, "expected a list, e.g. [q_proj, v_proj]");
            return seq.Children.Select(c => c is YamlScalarNode { Value: { } s } ? s
                : throw new RecipeException(source, Line(c), spec.Path, "list items must be plain values")).ToList();
        }
        if (node is not YamlScalarNode scalar) throw new RecipeException(source, Line(node), spec.Path, $"expected a single {Describe(spec)}");
        var text = scalar.Value ?? "";
        bool isNull = scalar.Style == ScalarStyle.Plain && text is "" or "~" or "null";
        if (isNull && !spec.Required && spec.Default is null) return null;
        object? value = spec.Kind switch
        {
            RecipeKind.String => isNull ? "" : text,
            RecipeKind.Int => long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i) ? i : null,
            RecipeKind.Float => double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var f) && double.IsFinite(f) ? f : null,
            RecipeKind.Bool => text switch { "true" or "True" => true, "false" or "False" => false, _ => null },
            RecipeKind.Choice => spec.Choices!.Contains(text) ? text : null,
            _ => null,
        };
        return value ?? throw new RecipeException(source, Line(node), spec.Path, $"'{text}' is not {Describe(spec)}");
    }

    static string Describe(RecipeKey k) => k.Kind switch
    {
        RecipeKind.Int => "an integer", RecipeKind.Float => "a number", RecipeKind.Bool => "true or false",
        RecipeKind.Choice => "one of " + string.Join(", ", k.Choices!), RecipeKind.List => "a list", _ => "a string",
    };

    void Validate(string source)
    {
        void Fail(string key, string message) => throw new RecipeException(source, null, key, message);
        foreach (var k in new[] { "data.n", "teacher.max_tokens", "teacher.concurrency", "train.epochs", "train.batch_size", "train.grad_accum", "train.max_seq_len", "train.save_every", "train.log_every" })
            if (Int(k) < (k == "data.n" ? 0 : 1)) Fail(k, k == "data.n" ? "must be ≥ 0" : "must be ≥ 1");
        foreach (var k in new[] { "teacher.max_retries", "train.max_steps", "train.warmup_steps", "student.adapter.r" })
            if (Int(k) < 0) Fail(k, "must be ≥ 0");
        if (Int("data.max_difficulty") is < 1 or > 3) Fail("data.max_difficulty", "must be 1–3");
        if (Float("train.lr") <= 0) Fail("train.lr", "must be > 0");
        if (Float("teacher.timeout_s") <= 0) Fail("teacher.timeout_s", "must be > 0");
        if (Float("train.kd.lambda") is < 0 or > 1) Fail("train.kd.lambda", "must be in [0, 1]");
        if (Float("train.kd.beta") is <= 0 or >= 1) Fail("train.kd.beta", "must be in (0, 1) (β = 0 and β = 1 are divergence forward_kl and reverse_kl)");
        if (Float("train.kd.skew_alpha") is <= 0 or >= 1) Fail("train.kd.skew_alpha", "must be in (0, 1)");
        if (Int("train.kd.max_new_tokens") < 1) Fail("train.kd.max_new_tokens", "must be ≥ 1");
        if (Float("train.kd.temperature") <= 0) Fail("train.kd.temperature", "must be > 0");
        if ((String("student.model").Length == 0) == (String("student.init").Length == 0))
            Fail("student.model", "give exactly one of student.model (a model folder) and student.init (a preset the run initializes)");
        if (String("teacher.model").Length > 0 && String("teacher.init").Length > 0) Fail("teacher.init", "give teacher.model or teacher.init, not both");
        if (Int("teacher.init_steps") < 0) Fail("teacher.init_steps", "must be ≥ 0");
        if (Int("teacher.init_steps") > 0 && String("teacher.init").Length == 0) Fail("teacher.init_steps", "fine-tunes a teacher the run makes: give teacher.init too");
        if (Float("teacher.init_lr") <= 0) Fail("teacher.init_lr", "must be > 0");
        foreach (var k in new[] { "student.init", "teacher.init" })
            // a preset, or a config.json file (relative to the recipe) for a shape no preset has (`distill demo` uses both)
            if (String(k) is { Length: > 0 } preset && !Distill.Models.ModelPresets.Names.Contains(preset))
            {
                if (!preset.EndsWith(".json", StringComparison.Ordinal)) Fail(k, $"'{preset}' is not a preset ({string.Join(", ", Distill.Models.ModelPresets.Names)})");
                else if (!File.Exists(ModelStage.Resolve(this, preset))) Fail(k, $"'{preset}': no such config.json");
            }
        if (Int("init.bpe_vocab") < 257) Fail("init.bpe_vocab", "must be ≥ 257 (the 256 bytes and the end-of-text token)");
        if (Method == Persd.PersdMethod.MethodName) Persd.PersdMethod.Validate(this, Fail);
        if (RecipeMethods.Find(Method) is { NeedsTeacher: true } && String("teacher.model").Length == 0 && String("teacher.init").Length == 0) Fail("teacher.model", $"method {Method} needs a teacher (teacher.model or teacher.init)");
        if (Method == "token-kd" && (String("teacher.model").StartsWith("openai:", StringComparison.Ordinal) || String("teacher.model").StartsWith("anthropic:", StringComparison.Ordinal)))
            Fail("teacher.model", "token-level KD needs the teacher's logits: a local model folder sharing the student's vocabulary, not an API model");
        // A key pasted into a value (a URL with credentials, a model name) would be written into the run directory.
        foreach (var secret in Secrets.Values(this))
            foreach (var (key, value) in _values)
                if (value is string s && s.Contains(secret, StringComparison.Ordinal))
                    Fail(key, "holds the value of an API key environment variable; keys come from the environment only");
    }

    /// <summary>The resolved recipe as YAML: every key, defaults written out, sections nested, in schema order.</summary>
    public string ToYaml()
    {
        var b = new StringBuilder("# Resolved recipe: every key with the value this run used (defaults written out).\n");
        string[] open = [];
        foreach (var k in RecipeSchema.Keys)
        {
            var parts = k.Path.Split('.');
            int common = 0;
            while (common < open.Length && common < parts.Length - 1 && open[common] == parts[common]) common++;
            for (int i = common; i < parts.Length - 1; i++) b.Append(new string(' ', 2 * i)).Append(parts[i]).Append(":\n");
            open = parts[..^1];
            b.Append(new string(' ', 2 * (parts.Length - 1))).Append(parts[^1]).Append(": ").Append(Scalar(_values[k.Path])).Append('\n');
        }
        return b.ToString();
    }

    static string Scalar(object? v) => v switch
    {
        null => "null",
        string s => Quote(s),
        long l => l.ToString(CultureInfo.InvariantCulture),
        double d => d.ToString("R", CultureInfo.InvariantCulture) is var t && (t.Contains('.') || t.Contains('E')) ? t : t + ".0",
        bool b => b ? "true" : "false",
        List<string> l => "[" + string.Join(", ", l.Select(Quote)) + "]",
        _ => throw new InvalidOperationException($"recipe value of type {v.GetType().Name}"),
    };

    /// <summary>A YAML double-quoted scalar (JSON string escapes are valid YAML).</summary>
    static string Quote(string s) => System.Text.Json.JsonSerializer.Serialize(s);

    /// <summary>The first key whose value differs from <paramref name="other"/>'s, or null when equal.</summary>
    public string? FirstDifference(Recipe other)
        => RecipeSchema.Keys.Select(k => k.Path).FirstOrDefault(k => Scalar(_values[k]) != Scalar(other._values[k]));
}
