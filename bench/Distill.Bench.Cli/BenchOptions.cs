using System.CommandLine;
using Distill.Tensors.Threading;

namespace Distill.Bench.Cli.Commands;

/// <summary>What the `bench` verbs share.</summary>
static class BenchOptions
{
    public static Option<int> Threads() => new("--threads") { Description = "Worker threads (default: DISTILL_THREADS or the core count)", DefaultValueFactory = _ => Workers.Count };
}
