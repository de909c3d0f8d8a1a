using Distill.Cli;

// `distill bench <verb>` (the ./distill script runs this program for `bench`): the same verb discovery and error
// path as the CLI, over this assembly's verbs (all in the "bench" group).
var root = VerbHost.Root("Distill benchmarks (figures: docs/performance.md).", typeof(Distill.Bench.Cli.Commands.BenchOptions).Assembly);
using var interruption = new Interruption(); // Ctrl-C and SIGTERM cancel the verb's token, as in the CLI
return await VerbHost.InvokeAsync(root, args, interruption.Token);
