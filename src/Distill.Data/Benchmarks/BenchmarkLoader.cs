using System.IO.Compression;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Distill.Data.Jsonl;

namespace Distill.Data.Benchmarks;

/// <summary>
/// Loads the benchmark files of the repository's data/benchmarks (see each SOURCE.md):
/// HumanEval (HumanEval.jsonl.gz), HumanEval+ in its HumanEval-compatible form
/// (HumanEvalPlus-OriginFmt.jsonl.gz: base+plus inputs with expected outputs written into
/// check(candidate); the full EvalPlus file holds inputs only, and its expected outputs would have
/// to be computed by running canonical_solution, which is not done here), MBPP (mbpp.jsonl) and
/// sanitized MBPP (sanitized-mbpp.json). Errors name the file and line or record.
/// </summary>
public static partial class BenchmarkLoader
{
    /// <summary>Benchmark names accepted by <see cref="Load(string, string)"/>.</summary>
    public static readonly string[] Names = ["humaneval", "humanevalplus", "mbpp", "mbpp-sanitized"];

    /// <summary>Loads a benchmark by name from the benchmarks folder (the one holding humaneval/, mbpp/...).</summary>
    public static IReadOnlyList<CodeTask> Load(string name, string benchmarksDir) => name switch
    {
        "humaneval" => HumanEval(Path.Combine(benchmarksDir, "humaneval", "HumanEval.jsonl.gz")),
        "humanevalplus" => HumanEval(Path.Combine(benchmarksDir, "humanevalplus", "HumanEvalPlus-OriginFmt.jsonl.gz")),
        "mbpp" => Mbpp(Path.Combine(benchmarksDir, "mbpp", "mbpp.jsonl")),
        "mbpp-sanitized" => MbppSanitized(Path.Combine(benchmarksDir, "mbpp", "sanitized-mbpp.json")),
        _ => throw new ArgumentException($"unknown benchmark \"{name}\"; expected one of {string.Join(", ", Names)}"),
    };

    /// <summary>HumanEval-format JSONL (optionally gzip): task_id, prompt, canonical_solution, test, entry_point.</summary>
    public static IReadOnlyList<CodeTask> HumanEval(string path)
    {
        using var reader = OpenText(path);
        var tasks = new List<CodeTask>();
        foreach (var r in JsonlReader.Read(reader, path))
            tasks.Add(new CodeTask(r.RequireString("task_id", path), r.RequireString("prompt", path), r.RequireString("entry_point", path),
                r.RequireString("test", path), r.RequireString("canonical_solution", path), TestStyle.Check));
        return tasks;
    }

    /// <summary>mbpp.jsonl: text, code, task_id, test_setup_code, test_list, challenge_test_list.</summary>
    public static IReadOnlyList<CodeTask> Mbpp(string path)
    {
        using var reader = OpenText(path);
        var tasks = new List<CodeTask>();
        foreach (var r in JsonlReader.Read(reader, path))
        {
            var id = r.Json["task_id"] is JsonValue v && v.TryGetValue<int>(out var n) ? n
                : throw new JsonlFormatException(path, r.Line, "field \"task_id\" is missing or not an integer");
            var tests = Strings(r.Json, "test_list", $"{path}:{r.Line}");
            tasks.Add(MbppTask(id, r.RequireString("text", path), r.RequireString("code", path), tests, "",
                Strings(r.Json, "challenge_test_list", $"{path}:{r.Line}"), $"{path}:{r.Line}") with { CandidateSetup = Lf(r.RequireString("test_setup_code", path)) });
        }
        return tasks;
    }

    /// <summary>sanitized-mbpp.json (one JSON array): task_id, prompt, code, test_imports, test_list.</summary>
    public static IReadOnlyList<CodeTask> MbppSanitized(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such file", path);
        JsonArray records;
        try { records = JsonNode.Parse(File.ReadAllText(path)) as JsonArray ?? throw new FormatException($"{path}: expected a JSON array"); }
        catch (JsonException e) { throw new FormatException($"{path}: not valid JSON ({e.Message})", e); }
        var tasks = new List<CodeTask>();
        for (int i = 0; i < records.Count; i++)
        {
            string where = $"{path}: record {i}";
            if (records[i] is not JsonObject o) throw new FormatException($"{where}: not an object");
            int id = o["task_id"] is JsonValue v && v.TryGetValue<int>(out var n) ? n : throw new FormatException($"{where}: task_id missing");
            string Str(string f) => o[f] is JsonValue s && s.TryGetValue<string>(out var t) ? t : throw new FormatException($"{where}: field \"{f}\" missing or not a string");
            tasks.Add(MbppTask(id, Str("prompt"), Str("code"), Strings(o, "test_list", where),
                string.Join("\n", Strings(o, "test_imports", where)), [], where));
        }
        return tasks;
    }

    static CodeTask MbppTask(int id, string text, string code, IReadOnlyList<string> tests, string setup, IReadOnlyList<string> challenge, string where)
    {
        if (tests.Count == 0) throw new FormatException($"{where}: test_list is empty");
        // The tested function: the first name called in the first assert that the reference code defines.
        code = Lf(code);
        var entry = FirstCall().Matches(tests[0]).Select(m => m.Groups[1].Value)
            .FirstOrDefault(n => Regex.IsMatch(code, $@"(?m)^\s*def\s+{Regex.Escape(n)}\s*\("))
            ?? throw new FormatException($"{where}: cannot find the tested function in \"{tests[0]}\"");
        return new CodeTask($"Mbpp/{id}", text, entry, string.Join("\n", tests) + "\n", Lf(code), TestStyle.Asserts,
            Lf(setup), challenge, CompletionContinuesPrompt: false);
    }

    static string Lf(string s) => s.Replace("\r\n", "\n");

    // "assert set(similar_elements((3, 4), ...)) == ..." → set, similar_elements: called names (not attributes).
    [GeneratedRegex(@"(?<![\w.])([A-Za-z_]\w*)\s*\(")]
    private static partial Regex FirstCall();

    static IReadOnlyList<string> Strings(JsonObject o, string field, string where)
    {
        if (o[field] is not JsonArray a) throw new FormatException($"{where}: field \"{field}\" missing or not an array");
        return a.Select((x, i) => x is JsonValue v && v.TryGetValue<string>(out var s) ? Lf(s) : throw new FormatException($"{where}: {field}[{i}] is not a string")).ToList();
    }

    static TextReader OpenText(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such file", path);
        Stream s = File.OpenRead(path);
        if (path.EndsWith(".gz", StringComparison.Ordinal)) s = new GZipStream(s, CompressionMode.Decompress);
        return new StreamReader(s, System.Text.Encoding.UTF8);
    }
}
