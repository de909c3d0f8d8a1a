using Distill.Data;

namespace Distill.Cli.Commands;

/// <summary>Default data of the eval and bench verbs: the repository's data/benchmarks (<see cref="RepoData"/>).</summary>
static class EvalPaths
{
    public static string? DefaultBenchmarks() => RepoData.Benchmarks();
}
