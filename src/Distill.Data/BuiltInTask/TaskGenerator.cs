namespace Distill.Data.BuiltInTask;

/// <summary>
/// Samples distinct problems of one shard from a seed. A problem belongs to exactly one shard
/// (<see cref="ProblemFactory.ShardOf"/>, from the hash of its behaviour), so the shards are
/// disjoint in programs whatever seeds are used; within a set, programs with the same behaviour
/// appear once. Difficulty (number of steps) is drawn uniformly from 1–3; depth-1 problems are few,
/// so a large set holds mostly depth 2 and 3.
/// </summary>
public static class TaskGenerator
{
    /// <summary>The default size of each shard (what `distill data task --verify` checks).</summary>
    public static readonly IReadOnlyDictionary<Shard, int> DefaultSizes = new Dictionary<Shard, int>
    {
        [Shard.Train] = 4000, [Shard.Distill] = 2000, [Shard.Test] = 500,
    };

    static readonly (PyType Type, int Weight)[] InputWeights = [(PyType.IntList, 45), (PyType.Str, 25), (PyType.StrList, 18), (PyType.Int, 12)];

    public static Shard ParseShard(string text) => text.ToLowerInvariant() switch
    {
        "train" => Shard.Train, "distill" => Shard.Distill, "test" => Shard.Test,
        _ => throw new ArgumentException($"unknown shard '{text}' (train, distill or test)"),
    };

    public static List<Problem> Generate(Shard shard, int n, ulong seed, int maxDifficulty = 3)
    {
        if (n < 0) throw new ArgumentOutOfRangeException(nameof(n), "must be ≥ 0");
        if (maxDifficulty is < 1 or > 3) throw new ArgumentOutOfRangeException(nameof(maxDifficulty), "must be 1–3");
        var rng = new SplitMix64(seed * 0x9E3779B97F4A7C15UL + (ulong)shard + 1);
        var seen = new HashSet<string>();
        var problems = new List<Problem>(n);
        long attempts = 0, limit = 5000 + 400L * n;
        while (problems.Count < n)
        {
            if (++attempts > limit)
                throw new InvalidOperationException($"found only {problems.Count} distinct {shard} problems of difficulty ≤ {maxDifficulty} after {limit} draws; ask for fewer");
            var (input, steps) = Draw(rng, rng.Between(1, maxDifficulty));
            if (steps is null) continue;
            // the cheap checks first: most draws are in another shard or repeat a behaviour already taken
            var behaviour = ProblemFactory.Behaviour(input, steps);
            if (ProblemFactory.ShardOf(behaviour) != shard || seen.Contains(behaviour)) continue;
            if (ProblemFactory.TryBuild(input, steps, out _) is not { } p) continue;
            seen.Add(behaviour);
            problems.Add(p);
        }
        return problems;
    }

    static readonly Dictionary<(PyType, bool), List<Operation>> Candidates = Enum.GetValues<PyType>()
        .SelectMany(t => new[] { (t, false), (t, true) })
        .ToDictionary(k => k, k => Operations.All.Where(o => o.In == k.t && (k.Item2 || o.Clauses.Length > 0)).ToList());

    static (PyType, List<Operation>?) Draw(SplitMix64 rng, int depth)
    {
        int w = rng.Below(InputWeights.Sum(x => x.Weight));
        var input = InputWeights.First(x => (w -= x.Weight) < 0).Type;
        var steps = new List<Operation>();
        var t = input;
        for (int i = 0; i < depth; i++)
        {
            bool last = i == depth - 1;
            var candidates = Candidates[(t, last)];
            if (candidates.Count == 0) return (input, null);
            var op = rng.Pick(candidates);
            steps.Add(op);
            t = op.Out;
        }
        return (input, steps);
    }
}
