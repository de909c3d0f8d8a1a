using System.Security.Cryptography;
using System.Text;

namespace Distill.Data.BuiltInTask;

/// <summary>
/// Builds a <see cref="Problem"/> from a composition, or says why the composition makes no good
/// problem (types that do not chain, an output that hardly depends on the input, a step that
/// changes nothing). The hidden tests' inputs and the wording are drawn from a generator seeded
/// by the composition's hash, so a problem reads the same whatever seed sampled it.
/// </summary>
public static class ProblemFactory
{
    public const int TestCount = 10;
    const int MaxReprLength = 160;

    static readonly string[] Vocabulary =
    [
        "apple", "stone", "river", "cloud", "tiger", "lemon", "bread", "house", "green", "music",
        "ocean", "pilot", "quiet", "zebra", "noon", "level", "radar", "hello", "world", "code",
        "data", "moon", "star", "tree", "sun", "map", "sky", "tea", "mango", "salt", "table",
        "train", "snow", "mint", "kayak", "tent", "owl", "bee", "seven", "melon",
        "garden", "window", "silver", "planet", "rocket", "banana", "orange", "summit", "stats", "madam",
    ];

    public static string Canonical(PyType input, IEnumerable<Operation> steps)
        => PyValue.TypeHint(input) + " -> " + string.Join(" | ", steps.Select(s => s.Id));

    public static string Sha256(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    /// <summary>Which shard a behaviour hash falls in: 60 % train, 25 % distill, 15 % test.</summary>
    public static Shard ShardOf(string behaviourHash)
    {
        int bucket = (int)(Convert.ToUInt64(behaviourHash[..16], 16) % 100);
        return bucket < 60 ? Shard.Train : bucket < 85 ? Shard.Distill : Shard.Test;
    }

    /// <summary>Parses a canonical composition ("list[int] -> keep_even | sum") back into a problem.</summary>
    public static Problem Parse(string composition)
    {
        var parts = composition.Split(" -> ", 2);
        if (parts.Length != 2) throw new FormatException($"composition '{composition}': expected 'TYPE -> step | step'");
        var input = Enum.GetValues<PyType>().FirstOrDefault(t => PyValue.TypeHint(t) == parts[0], (PyType)(-1));
        if ((int)input < 0) throw new FormatException($"composition '{composition}': unknown input type '{parts[0]}'");
        var steps = parts[1].Split(" | ").Select(id => Operations.ById.TryGetValue(id, out var op) ? op
            : throw new FormatException($"composition '{composition}': unknown step '{id}'")).ToList();
        return TryBuild(input, steps, out var why) ?? throw new FormatException($"composition '{composition}': {why}");
    }

    public static Problem? TryBuild(PyType input, IReadOnlyList<Operation> steps, out string? why)
    {
        why = Check(input, steps);
        if (why is not null) return null;
        var composition = Canonical(input, steps);
        var hash = Sha256(composition);
        var rng = SplitMix64.FromHex(hash);
        var inputs = TestInputs(input, rng);
        var tests = inputs.Select(x => new TestCase(x, Run(steps, x))).ToList();
        var outputs = tests.Select(t => PyValue.Repr(t.Expected)).ToList();
        if (outputs.Any(o => o.Length > MaxReprLength)) { why = "an output is too long to read"; return null; }
        int distinct = outputs.Distinct().Count();
        if (distinct < (steps[^1].Out == PyType.Bool ? 2 : 3)) { why = "the output hardly depends on the input"; return null; }
        if (steps[^1].Out == input && tests.All(t => PyValue.Equal(t.Input, t.Expected))) { why = "the output equals the input"; return null; }
        var behaviour = Behaviour(input, steps);
        for (int skip = 0; skip < steps.Count && steps.Count > 1; skip++)
        {
            var shorter = steps.Where((_, i) => i != skip).ToList();
            if (Check(input, shorter) is null && Behaviour(input, shorter) == behaviour) { why = $"step '{steps[skip].Id}' changes nothing"; return null; }
        }
        var text = ProblemText.Write(input, steps, rng, tests);
        return new Problem(input, steps, composition, hash, behaviour, ShardOf(behaviour), text.EntryPoint, text.Description,
            text.Prompt, text.Body, text.Test, tests);
    }

    /// <summary>Null when the steps chain (types match; Boolean and answer-only steps come last).</summary>
    static string? Check(PyType input, IReadOnlyList<Operation> steps)
    {
        if (steps.Count == 0) return "no steps";
        var t = input;
        for (int i = 0; i < steps.Count; i++)
        {
            if (steps[i].In != t) return $"step '{steps[i].Id}' takes {PyValue.TypeHint(steps[i].In)}, not {PyValue.TypeHint(t)}";
            if (i < steps.Count - 1 && steps[i].Clauses.Length == 0) return $"step '{steps[i].Id}' can only come last";
            if (i > 0 && steps[i].Id == steps[i - 1].Id) return $"step '{steps[i].Id}' is repeated";
            t = steps[i].Out;
        }
        return null;
    }

    public static object Run(IEnumerable<Operation> steps, object input) => steps.Aggregate(input, (v, s) => s.Eval(v));

    static readonly Dictionary<PyType, List<object>> Probes = Enum.GetValues<PyType>().Where(t => t != PyType.Bool)
        .ToDictionary(t => t, t => ProbeInputs(t));

    /// <summary>
    /// A fixed set of 24 inputs per type (seeded by the type's name, never by a problem): two
    /// compositions with equal outputs on all of them count as the same program, for deduplication
    /// and for the shard, so equivalent programs ("sort descending" vs "sort, then reverse") never
    /// sit in two shards.
    /// </summary>
    static List<object> ProbeInputs(PyType t)
    {
        var rng = new SplitMix64(Convert.ToUInt64(Sha256("probes:" + PyValue.TypeHint(t))[..16], 16));
        var list = new List<object>();
        for (int i = 0; i < 3; i++) list.AddRange(TestInputs(t, rng));
        return list.Take(24).ToList();
    }

    public static string Behaviour(PyType input, IReadOnlyList<Operation> steps)
        => Sha256(PyValue.TypeHint(input) + "\n" + string.Join("\n", Probes[input].Select(x => PyValue.Repr(Run(steps, x)))));

    /// <summary>Two typical inputs (shown in the docstring), then hidden ones including an edge case.</summary>
    static List<object> TestInputs(PyType t, SplitMix64 rng)
    {
        var list = new List<object>();
        for (int i = 0; i < TestCount; i++)
        {
            bool typical = i < 2, edge = i == TestCount - 1;
            list.Add(t switch
            {
                PyType.IntList => edge ? new List<System.Numerics.BigInteger>()
                    : Enumerable.Range(0, typical ? rng.Between(4, 7) : rng.Between(1, 9)).Select(_ => new System.Numerics.BigInteger(typical ? rng.Between(-5, 15) : rng.Between(-20, 30))).ToList(),
                PyType.Int => new System.Numerics.BigInteger(edge ? 0 : i == TestCount - 2 ? -rng.Between(1, 999) : typical ? rng.Between(10, 9999) : rng.Between(0, 99999)),
                PyType.Str => edge ? "" : string.Join(" ", Enumerable.Range(0, typical ? rng.Between(2, 4) : rng.Between(1, 5)).Select(_ => rng.Pick(Vocabulary))),
                PyType.StrList => edge ? new List<string>()
                    : Enumerable.Range(0, typical ? rng.Between(3, 6) : rng.Between(1, 7)).Select(_ => rng.Pick(Vocabulary)).ToList(),
                _ => throw new ArgumentOutOfRangeException(nameof(t)),
            });
        }
        return list;
    }
}
