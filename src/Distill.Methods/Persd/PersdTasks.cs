using System.Text.RegularExpressions;
using Distill.Data.Benchmarks;
using Distill.Data.BuiltInTask;

namespace Distill.Methods.Persd;

/// <summary>
/// Builds <see cref="PersdItem"/>s from the built-in task and from HumanEval/MBPP-format files, in
/// the prompt formats of the authors' code (SalesforceAIResearch/PersDistill):
/// HumanEval style (format_prompt of generate_code_for_humaneval.py)
/// <code>"""\nWrite a python function for the following task.\n{docstring}\n"""\n{header}\n</code>
/// MBPP (format_prompt of generate_code_for_mbpp.py, one example shown)
/// <code>"""\n{text}\n\n>>> Example: {first assert without "assert ", "==" → "="}\n"""\n\n{header}\n</code>
/// where the header is the code before the answer: imports, helpers and the entry point's def line.
/// One difference from the authors: for prompts with helpers that have their own docstrings
/// (HumanEval/32), the header keeps the helpers whole (their split at the first <c>"""</c> cut the helper).
///
/// Sources name their split, and training and scoring sets are never mixed: training reads
/// builtin:train, builtin:distill or mbpp:train (MBPP task ids 601–974); scoring reads builtin:test,
/// humaneval, humanevalplus or mbpp:test (ids 11–510) — <see cref="Load"/> refuses the others.
///
/// The student's prompt is the authors' format above (<see cref="PromptFormat.Authors"/>, right for a pretrained or API
/// student), or the dataset's own prompt, which the completion continues (<see cref="PromptFormat.Dataset"/>: the
/// signature and docstring, as the built-in task's gen view and HumanEval give it). A student trained from scratch on the
/// gen view (the demo's) has never seen the authors' wrapper: for it the wrapper is out of distribution. The teacher's
/// conversation is the authors' in both formats (<see cref="PersdTask.AuthorsPrompt"/>).
/// </summary>
public static partial class PersdTasks
{
    public const string HumanEvalInstruction = "Write a python function for the following task.";

    /// <summary>Sources by split.</summary>
    public static readonly IReadOnlyDictionary<string, PersdSplit> Sources = new Dictionary<string, PersdSplit>
    {
        ["builtin:train"] = PersdSplit.Train, ["builtin:distill"] = PersdSplit.Train, ["mbpp:train"] = PersdSplit.Train,
        ["builtin:test"] = PersdSplit.Test, ["humaneval"] = PersdSplit.Test, ["humanevalplus"] = PersdSplit.Test, ["mbpp:test"] = PersdSplit.Test,
    };

    /// <summary>MBPP's standard split by task id (Austin et al. 2021): 11–510 test, 601–974 train (1–10 few-shot, 511–600 validation).</summary>
    public static PersdSplit? MbppSplit(int id) => id is >= 601 and <= 974 ? PersdSplit.Train : id is >= 11 and <= 510 ? PersdSplit.Test : null;

    /// <summary>
    /// Loads <paramref name="n"/> tasks (0 = all) of a source that must be on the <paramref name="expected"/>
    /// side. A source may also be "humaneval-file:PATH" (scoring) or "mbpp-file:PATH:train|test" (split by MBPP ids).
    /// </summary>
    public static List<PersdItem> Load(string source, PersdSplit expected, string benchmarksDir, int n = 0, ulong seed = 0, int maxDifficulty = 3,
        PromptFormat format = PromptFormat.Authors)
    {
        var split = SplitOf(source);
        if (split != expected)
            throw new ArgumentException(expected == PersdSplit.Train
                ? $"'{source}' is a scoring set; PERsD trains only on builtin:train, builtin:distill, mbpp:train or mbpp-file:PATH:train (training and scoring data are never mixed)"
                : $"'{source}' is a training set; PERsD scores only on builtin:test, humaneval, humanevalplus, mbpp:test, humaneval-file:PATH or mbpp-file:PATH:test (training and scoring data are never mixed)");
        List<PersdItem> items;
        if (source.StartsWith("builtin:", StringComparison.Ordinal))
        {
            var shard = TaskGenerator.ParseShard(source["builtin:".Length..]);
            items = TaskGenerator.Generate(shard, n == 0 ? TaskGenerator.DefaultSizes[shard] : n, seed, maxDifficulty)
                .Select(p => FromCodeTask(p.ToCodeTask(), source, split, format)).ToList();
            return items;
        }
        IEnumerable<CodeTask> tasks = source switch
        {
            "humaneval" or "humanevalplus" => BenchmarkLoader.Load(source, benchmarksDir),
            "mbpp:train" or "mbpp:test" => BenchmarkLoader.Load("mbpp", benchmarksDir).Where(t => MbppSplit(MbppId(t)) == split),
            _ when source.StartsWith("humaneval-file:", StringComparison.Ordinal) => BenchmarkLoader.HumanEval(source["humaneval-file:".Length..]),
            _ => MbppFile(source, split),
        };
        items = tasks.Select(t => FromCodeTask(t, source, split, format)).ToList();
        return n > 0 ? items.Take(n).ToList() : items;
    }

    /// <summary>Whether a source reads the repository's data/benchmarks (the others need no checkout).</summary>
    public static bool NeedsBenchmarks(string source) => source is "humaneval" or "humanevalplus" or "mbpp:train" or "mbpp:test";

    /// <summary>The side a source is on; unknown sources are refused with the list of known ones.</summary>
    /// <summary>persd.prompt_format: authors | dataset.</summary>
    public static PromptFormat ParseFormat(string s) => s switch
    {
        "authors" => PromptFormat.Authors, "dataset" => PromptFormat.Dataset,
        _ => throw new ArgumentException($"unknown PERsD prompt format '{s}' (authors or dataset)"),
    };

    public static PersdSplit SplitOf(string source)
    {
        if (Sources.TryGetValue(source, out var s)) return s;
        if (source.StartsWith("humaneval-file:", StringComparison.Ordinal)) return PersdSplit.Test;
        if (source.StartsWith("mbpp-file:", StringComparison.Ordinal))
            return source.EndsWith(":train", StringComparison.Ordinal) ? PersdSplit.Train : source.EndsWith(":test", StringComparison.Ordinal) ? PersdSplit.Test
                : throw new ArgumentException($"'{source}': an MBPP file names its split: mbpp-file:PATH:train or mbpp-file:PATH:test");
        throw new ArgumentException($"unknown PERsD task source '{source}'; expected one of {string.Join(", ", Sources.Keys)}, humaneval-file:PATH, mbpp-file:PATH:train|test");
    }

    static IEnumerable<CodeTask> MbppFile(string source, PersdSplit split)
    {
        var path = source["mbpp-file:".Length..source.LastIndexOf(':')];
        foreach (var t in BenchmarkLoader.Mbpp(path))
        {
            var s = MbppSplit(MbppId(t));
            if (s is null) continue; // few-shot and validation ids belong to neither side
            if (s == split) yield return t;
        }
    }

    static int MbppId(CodeTask t) => int.Parse(t.TaskId["Mbpp/".Length..], System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Fails when a training and a scoring set share a task (by id or by prompt).</summary>
    public static void EnsureDisjoint(IReadOnlyList<PersdItem> train, IReadOnlyList<PersdItem> test)
    {
        var ids = train.Select(i => i.Task.TaskId).ToHashSet();
        var prompts = train.Select(i => i.Task.Prompt).ToHashSet();
        foreach (var t in test)
            if (ids.Contains(t.Task.TaskId) || prompts.Contains(t.Task.Prompt))
                throw new ArgumentException($"task {t.Task.TaskId} is in both the training set and the scoring set; they must be disjoint");
    }

    /// <summary>A task in PERsD's format: the prompt, the header, the visible asserts, the reference, the hidden tests.</summary>
    public static PersdItem FromCodeTask(CodeTask t, string source, PersdSplit split, PromptFormat format = PromptFormat.Authors)
    {
        if (format == PromptFormat.Dataset && !t.CompletionContinuesPrompt)
            throw new ArgumentException($"{t.TaskId}: persd.prompt_format: dataset needs tasks whose completion continues their prompt (the built-in task, HumanEval); " +
                                        "an MBPP task's prompt is prose: use prompt_format: authors");
        string prompt, header, reference;
        List<string> visible;
        if (t.CompletionContinuesPrompt)
        {
            var (h, doc) = SplitHeader(t.Prompt, t.EntryPoint, t.TaskId);
            header = h;
            prompt = $"\"\"\"\n{HumanEvalInstruction}\n{doc}\n\"\"\"\n{header}\n";
            visible = DocstringExamples(doc, t.EntryPoint);
            reference = header + "\n" + t.CanonicalSolution;
        }
        else
        {
            var tests = t.Test.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            var m = Regex.Match(t.CanonicalSolution, $@"def\s*{Regex.Escape(t.EntryPoint)}\s*\(.*\)[^\n:]*:");
            if (!m.Success) throw new FormatException($"{t.TaskId}: cannot find 'def {t.EntryPoint}(...):' in the reference code");
            header = t.CanonicalSolution[..(m.Index + m.Length)];
            var example = tests[0].Trim();
            example = (example.StartsWith("assert ", StringComparison.Ordinal) ? example["assert ".Length..] : example).Replace("==", "=");
            prompt = $"\"\"\"\n{t.Prompt}\n\n>>> Example: {example}\n\"\"\"\n\n{header}\n";
            visible = [tests[0].Trim()];
            reference = t.CanonicalSolution;
        }
        var visibleTask = t with { Test = string.Concat(visible.Select(v => v + "\n")), ChallengeTests = [] };
        // the dataset's prompt ends where the body starts (the signature and docstring), as the gen view trains it
        var studentPrompt = format == PromptFormat.Dataset ? t.Prompt : prompt;
        var task = new PersdTask(t.TaskId, source, split, studentPrompt, header, t.EntryPoint, visible, reference) { VisibleTask = visibleTask, AuthorsPrompt = prompt };
        return new PersdItem(task, new HiddenTests(t));
    }

    /// <summary>
    /// Keeps the visible asserts the reference program passes (a docstring example that is not valid
    /// Python, or prints something other than the repr, would otherwise fail every answer). Tasks without
    /// a reference keep their asserts. Returns the items and how many asserts were dropped.
    /// </summary>
    public static async Task<(List<PersdItem> Items, int Dropped)> VerifyVisibleAsync(IReadOnlyList<PersdItem> items, CodeExecutor executor, CancellationToken ct = default)
    {
        var result = new PersdItem[items.Count];
        int dropped = 0;
        await Parallel.ForEachAsync(Enumerable.Range(0, items.Count), new ParallelOptions { MaxDegreeOfParallelism = executor.Slots, CancellationToken = ct }, async (i, token) =>
        {
            var item = items[i];
            var t = item.Task;
            if (t.Reference is null || t.Visible.Count == 0 || await Passes(t, t.Visible, token).ConfigureAwait(false))
            {
                result[i] = item;
                return;
            }
            var keep = new List<string>();
            foreach (var a in t.Visible)
                if (await Passes(t, [a], token).ConfigureAwait(false)) keep.Add(a);
            Interlocked.Add(ref dropped, t.Visible.Count - keep.Count);
            result[i] = item with { Task = WithVisible(t, keep) };
        }).ConfigureAwait(false);
        return ([.. result], dropped);

        async Task<bool> Passes(PersdTask t, IReadOnlyList<string> visible, CancellationToken token)
            => (await executor.RunAsync(WithVisible(t, visible).VisibleJob(t.Reference!), token).ConfigureAwait(false)).Status == Evaluation.Sandbox.SandboxStatus.Passed;
    }

    static PersdTask WithVisible(PersdTask t, IReadOnlyList<string> visible)
        => t with { Visible = visible, VisibleTask = t.VisibleTask with { Test = string.Concat(visible.Select(v => v + "\n")) } };

    [GeneratedRegex(@"^\s*(?:r|R|u|U)?(""""""|''')")]
    private static partial Regex DocOpen();

    /// <summary>
    /// HumanEval-style prompt → (header, docstring of the entry point). The header ends with the
    /// entry point's def line (a signature over several lines is kept whole).
    /// </summary>
    public static (string Header, string Doc) SplitHeader(string prompt, string entry, string where)
    {
        var def = Regex.Match(prompt, $@"(?m)^(?:async\s+)?def\s+{Regex.Escape(entry)}\s*\(");
        if (!def.Success) throw new FormatException($"{where}: the prompt has no 'def {entry}('");
        int end = def.Index;
        while (true)
        {
            int nl = prompt.IndexOf('\n', end);
            var line = nl < 0 ? prompt[end..] : prompt[end..nl];
            end = nl < 0 ? prompt.Length : nl;
            if (line.Split('#')[0].TrimEnd().EndsWith(':') || nl < 0) break;
            end = nl + 1;
        }
        var header = prompt[..end].TrimEnd('\n');
        var rest = prompt[end..];
        var open = DocOpen().Match(rest);
        if (!open.Success) return (header, "");
        var quote = open.Groups[1].Value;
        int start = open.Index + open.Length;
        int close = rest.IndexOf(quote, start, StringComparison.Ordinal);
        return (header, close < 0 ? rest[start..] : rest[start..close]);
    }

    /// <summary>
    /// The docstring's doctest examples that call the entry point, as asserts:
    /// "&gt;&gt;&gt; f(1, 2)\n    3" → "assert f(1, 2) == 3" (several output lines are joined with a space).
    /// </summary>
    public static List<string> DocstringExamples(string doc, string entry)
    {
        var lines = doc.Split('\n').Select(l => l.Trim()).ToArray();
        var result = new List<string>();
        for (int i = 0; i < lines.Length; i++)
        {
            if (!lines[i].StartsWith(">>> ", StringComparison.Ordinal)) continue;
            var call = lines[i][4..].Trim();
            var expected = new List<string>();
            for (int j = i + 1; j < lines.Length && lines[j].Length > 0 && !lines[j].StartsWith(">>>", StringComparison.Ordinal); j++) expected.Add(lines[j]);
            if (expected.Count == 0 || !Regex.IsMatch(call, $@"(?<![\w.]){Regex.Escape(entry)}\s*\(")) continue;
            result.Add($"assert {call} == {string.Join(" ", expected)}");
        }
        if (result.Count > 0) return result;
        // Prose examples (most HumanEval tasks without doctests): "f(1, 2) == 3", "f(x) ➞ y", "f(x) => y", "f(x) should return y".
        foreach (var line in lines)
        {
            int k = line.IndexOf(entry + "(", StringComparison.Ordinal);
            if (k < 0 || (k > 0 && (char.IsLetterOrDigit(line[k - 1]) || line[k - 1] is '_' or '.'))) continue;
            int depth = 0, end = -1;
            for (int i = k + entry.Length; i < line.Length && end < 0; i++)
                if (line[i] == '(') depth++;
                else if (line[i] == ')' && --depth == 0) end = i + 1;
            if (end < 0) continue;
            var after = line[end..].Trim();
            foreach (var sep in ProseSeparators)
                if (after.StartsWith(sep, StringComparison.Ordinal) && after[sep.Length..].Trim().TrimEnd('.', ',', ';') is { Length: > 0 } value)
                {
                    result.Add($"assert {line[k..end]} == {value}");
                    break;
                }
        }
        return result;
    }

    static readonly string[] ProseSeparators = ["==>", "==", "➞", "=>", "->", "should return"];
}
