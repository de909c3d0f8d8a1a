using System.Text;
using System.Text.RegularExpressions;
using Distill.Data.Benchmarks;

namespace Distill.Evaluation.Code;

/// <summary>
/// Turns a model's answer into the program to test, in the spirit of EvalPlus's sanitizer:
/// 1. code inside ``` fences (with or without a language tag) wins over the prose around it; of
///    several blocks, the first that defines the entry point, else the first;
/// 2. an answer that defines the entry point is a whole program: its top-level segments that are
///    imports, or definitions reachable from the entry point (by name), are kept; prose, prints,
///    asserts and `if __name__` blocks are dropped; for HumanEval the prompt goes in front (its
///    imports and helpers, e.g. poly for HumanEval/32; its docstring-only stub is then redefined);
/// 3. otherwise, for HumanEval-style tasks, the answer continues the prompt (a function body):
///    program = prompt + answer cut at the first non-indented line (human-eval's stop sequences).
/// Limit: segments are found by indentation and keywords, not by a Python parser, so a segment
/// that does not parse is kept if it looks like a definition (the sandbox then reports the
/// SyntaxError). Worked example: "Sure!\n```python\ndef f(x):\n  return g(x)\ndef g(x): return 1\nprint(f(2))\n```"
/// with entry point f → "def f(x):\n  return g(x)\ndef g(x): return 1\n".
/// </summary>
public static partial class CodeExtraction
{
    [GeneratedRegex(@"```[ \t]*([A-Za-z0-9_+-]*)[^\n]*\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex Fence();

    [GeneratedRegex(@"^(?:async\s+def|def|class)\s+([A-Za-z_]\w*)|^([A-Za-z_]\w*)\s*(?::[^=]*)?=(?!=)")]
    private static partial Regex Definition();

    [GeneratedRegex(@"[A-Za-z_]\w*")]
    private static partial Regex Identifier();

    /// <summary>The program for <paramref name="answer"/> (a completion) on <paramref name="task"/>.</summary>
    public static string Program(CodeTask task, string answer)
    {
        var code = FencedCode(answer, task.EntryPoint) ?? answer;
        if (Regex.IsMatch(code, $@"(?m)^(?:async\s+)?def\s+{Regex.Escape(task.EntryPoint)}\s*\("))
            return (task.CompletionContinuesPrompt ? task.Prompt + "\n" : "") + Sanitize(code, task.EntryPoint);
        if (task.CompletionContinuesPrompt) return task.Prompt + CutBody(code);
        return code;
    }

    /// <summary>The chosen fenced block, or null when the answer has no fences.</summary>
    public static string? FencedCode(string answer, string entryPoint)
    {
        var blocks = Fence().Matches(answer.Replace("\r\n", "\n")).Select(m => m.Groups[2].Value).ToList();
        if (blocks.Count == 0) return null;
        return blocks.FirstOrDefault(b => b.Contains($"def {entryPoint}", StringComparison.Ordinal)) ?? blocks[0];
    }

    /// <summary>Keeps imports and the definitions reachable from <paramref name="entryPoint"/>.</summary>
    public static string Sanitize(string code, string entryPoint)
    {
        var segments = Segments(code.Replace("\r\n", "\n"));
        var defs = new Dictionary<string, List<int>>();
        var kinds = new string?[segments.Count];
        for (int i = 0; i < segments.Count; i++)
        {
            var first = segments[i].TrimStart('@');
            var head = segments[i].StartsWith('@') ? segments[i].Split('\n').FirstOrDefault(l => !l.StartsWith('@')) ?? "" : first;
            if (first.StartsWith("import ", StringComparison.Ordinal) || first.StartsWith("from ", StringComparison.Ordinal)) { kinds[i] = "import"; continue; }
            var m = Definition().Match(head);
            if (!m.Success) continue; // prose, print(...), assert, if __name__ ...: dropped
            var name = m.Groups[1].Success ? m.Groups[1].Value : m.Groups[2].Value;
            kinds[i] = name;
            (defs.TryGetValue(name, out var l) ? l : defs[name] = []).Add(i);
        }
        var keep = new HashSet<int>();
        var todo = new Stack<string>([entryPoint]);
        var seen = new HashSet<string>();
        while (todo.Count > 0)
        {
            var name = todo.Pop();
            if (!seen.Add(name) || !defs.TryGetValue(name, out var idx)) continue;
            foreach (var i in idx)
                if (keep.Add(i))
                    foreach (Match id in Identifier().Matches(segments[i])) todo.Push(id.Value);
        }
        var sb = new StringBuilder();
        for (int i = 0; i < segments.Count; i++)
            if (kinds[i] == "import" || keep.Contains(i)) sb.Append(segments[i]).Append('\n');
        return sb.ToString();
    }

    /// <summary>Top-level segments: a non-indented line and the indented/blank lines after it.</summary>
    static List<string> Segments(string code)
    {
        var result = new List<string>();
        var current = new StringBuilder();
        bool decorator = false;
        foreach (var line in code.Split('\n'))
        {
            bool top = line.Length > 0 && !char.IsWhiteSpace(line[0]) && !line.StartsWith(')') && !line.StartsWith(']') && !line.StartsWith('}');
            if (top && current.Length > 0 && !decorator) { result.Add(current.ToString().TrimEnd()); current.Clear(); }
            if (top) decorator = line.StartsWith('@');
            current.Append(line).Append('\n');
        }
        if (current.Length > 0) result.Add(current.ToString().TrimEnd());
        return result.Where(s => s.Length > 0).ToList();
    }

    /// <summary>A function body continuing the prompt, cut at the first non-indented non-blank line.</summary>
    static string CutBody(string completion)
    {
        var text = completion.Replace("\r\n", "\n");
        for (int nl = text.IndexOf('\n'); nl >= 0 && nl + 1 < text.Length; nl = text.IndexOf('\n', nl + 1))
            if (!char.IsWhiteSpace(text[nl + 1])) return text[..(nl + 1)];
        return text;
    }
}
