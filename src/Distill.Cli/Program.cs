using Distill.Cli;

// `distill <verb>`: verbs are discovered from IVerb implementations (see IVerb.cs); VerbHost is the one error path.
// The `bench` verbs live in bench/Distill.Bench.Cli (the ./distill script routes `distill bench ...` there).
var root = VerbHost.Root("Distill: distill large language models into small ones with preference-based methods.\n" +
    "Benchmarks: ./distill bench --help (bench/Distill.Bench.Cli).", typeof(IVerb).Assembly);
using var interruption = new Interruption(); // Ctrl-C and SIGTERM cancel the verb's token (Interruption.cs)
return await VerbHost.InvokeAsync(root, args, interruption.Token);
