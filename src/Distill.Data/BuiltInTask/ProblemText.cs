using System.Text;

namespace Distill.Data.BuiltInTask;

/// <summary>
/// Writes a composition out as Python and English: the function name, a description chosen among
/// several phrasings per step, the HumanEval-style prompt (signature + docstring with two examples),
/// the reference body, and <c>check(candidate)</c> over all the test cases.
/// </summary>
static class ProblemText
{
    public sealed record Text(string EntryPoint, string Description, string Prompt, string Body, string Test);

    static string Parameter(PyType t) => t switch
    {
        PyType.IntList => "numbers", PyType.Str => "text", PyType.Int => "n", PyType.StrList => "words",
        _ => throw new ArgumentOutOfRangeException(nameof(t)),
    };

    static readonly Dictionary<PyType, string[]> Intros = new()
    {
        [PyType.IntList] = ["Given a list of integers `numbers`", "You are given a list of integers `numbers`", "Take the list of integers `numbers`", "For a list of integers `numbers`"],
        [PyType.Str] = ["Given a string `text` of lowercase words separated by single spaces", "You are given a string `text` made of lowercase words and spaces", "Take the string `text` (lowercase words separated by spaces)"],
        [PyType.Int] = ["Given an integer `n`", "You are given an integer `n`", "Take the integer `n`"],
        [PyType.StrList] = ["Given a list of lowercase words `words`", "You are given a list of words `words`", "Take the list of words `words`"],
    };

    static readonly Dictionary<PyType, string[]> Returns = new()
    {
        [PyType.IntList] = ["return the resulting list", "return the list that remains", "return the new list"],
        [PyType.StrList] = ["return the resulting list of words", "return the list of words that remains"],
        [PyType.Int] = ["return the result", "return that number", "return the resulting integer"],
        [PyType.Str] = ["return the resulting string", "return the new string"],
        [PyType.Bool] = ["return the answer as a boolean"],
    };

    static readonly string[] Joins = [", then ", ", ", ", and then ", "; next, "];

    static readonly HashSet<string> Reserved = ["sum", "max", "min", "len", "abs", "sorted", "list", "str", "int", "format", "all", "any"];

    public static Text Write(PyType input, IReadOnlyList<Operation> steps, SplitMix64 rng, IReadOnlyList<TestCase> tests)
    {
        var param = Parameter(input);
        var name = string.Join("_", steps.Select(s => s.Slug));
        if (steps.Count == 1 || Reserved.Contains(name)) name += input switch
        {
            PyType.IntList => "_numbers", PyType.Str => "_text", PyType.Int => "_number", _ => "_words",
        };

        // Description: intro, the clauses of every step, and either the last step's own "return ..."
        // phrasing or a clause plus a generic "return the result" for its type.
        var d = new StringBuilder(rng.Pick(Intros[input]));
        var last = steps[^1];
        bool ownFinal = last.Finals.Length > 0 && (last.Clauses.Length == 0 || rng.Below(3) > 0);
        int clauses = ownFinal ? steps.Count - 1 : steps.Count;
        d.Append(", ");
        for (int i = 0; i < clauses; i++)
        {
            if (i > 0) d.Append(rng.Pick(Joins));
            d.Append(rng.Pick(steps[i].Clauses));
        }
        if (clauses > 0) d.Append(clauses == 1 && !ownFinal ? " and " : ", and ");
        d.Append(ownFinal ? rng.Pick(last.Finals) : rng.Pick(Returns[last.Out]));
        d.Append('.');
        var description = d.ToString();

        var p = new StringBuilder();
        p.Append($"def {name}({param}: {PyValue.TypeHint(input)}) -> {PyValue.TypeHint(last.Out)}:\n");
        p.Append("    \"\"\"");
        foreach (var line in Wrap(description, 84)) p.Append(line).Append("\n    ");
        for (int i = 0; i < 2; i++)
            p.Append($">>> {name}({PyValue.Repr(tests[i].Input)})\n    {PyValue.Repr(tests[i].Expected)}\n    ");
        p.Append("\"\"\"\n");

        var body = new StringBuilder();
        if (steps.Count == 1) body.Append($"    return {steps[0].Python(param)}\n");
        else
        {
            body.Append($"    result = {steps[0].Python(param)}\n");
            for (int i = 1; i < steps.Count - 1; i++) body.Append($"    result = {steps[i].Python("result")}\n");
            body.Append($"    return {last.Python("result")}\n");
        }

        var t = new StringBuilder("\n\ndef check(candidate):\n");
        foreach (var c in tests) t.Append($"    assert candidate({PyValue.Repr(c.Input)}) == {PyValue.Repr(c.Expected)}\n");
        return new Text(name, description, p.ToString(), body.ToString(), t.ToString());
    }

    static IEnumerable<string> Wrap(string text, int width)
    {
        var line = new StringBuilder();
        foreach (var word in text.Split(' '))
        {
            if (line.Length > 0 && line.Length + 1 + word.Length > width) { yield return line.ToString(); line.Clear(); }
            if (line.Length > 0) line.Append(' ');
            line.Append(word);
        }
        if (line.Length > 0) yield return line.ToString();
    }
}
