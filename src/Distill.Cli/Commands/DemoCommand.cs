using System.CommandLine;
using Distill.Methods.Demo;
using Distill.Methods.Runs;
using Distill.Report;

namespace Distill.Cli.Commands;

/// <summary>`distill demo`: the papers' comparison end to end on the built-in code task, offline (docs/demo.md).</summary>
sealed class DemoCommand : IVerb
{
    public Command Build()
    {
        var preset = new Option<string>("--preset") { Description = "quick (every stage in minutes, not a result) or standard (the measured comparison)", DefaultValueFactory = _ => "quick" };
        var output = new Option<string?>("--out") { Description = "Demo directory (default: runs/demo-PRESET)" };
        var resume = new Option<bool>("--resume") { Description = "Continue a demo: finished runs, models and evaluations are kept" };
        var seed = new Option<int>("--seed") { Description = "Seed of every random choice (same seed, same table)", DefaultValueFactory = _ => 0 };
        var judge = new Option<string?>("--judge") { Description = "An LLM judge instead of the rule-based one: openai:MODEL[@BASE_URL] or anthropic:MODEL (key from the environment)" };
        var verbose = new Option<bool>("--verbose") { Description = "Also print every run's own log lines (they are always in runs/NAME/run.log)" };
        var tune = new Option<bool>("--tune") { Description = "Choose the methods' hyperparameters on the distill shard (a validation slice held out of it) over the demo's base in --out; prints the grid and the chosen values (docs/demo.md)" };
        var tuneMethods = new Option<string?>("--tune-methods") { Description = "With --tune: only these methods, comma-separated (default: every method but PERsD)" };
        var command = new Command("demo", "Train a teacher and a student from scratch, distill with every method, evaluate on the test shard, write results.json.\n" +
            "Example: distill demo --preset quick   |   distill demo --preset standard --out runs/demo --resume");
        foreach (var o in new Option[] { preset, output, resume, seed, judge, verbose, tune, tuneMethods }) command.Options.Add(o);
        command.SetAction(async (pr, ct) =>
        {
            DemoPreset p;
            try { p = DemoPreset.Get(pr.GetValue(preset)!); }
            catch (ArgumentException e) { throw new BadInputException(e.Message); }
            var dir = pr.GetValue(output) ?? Path.Combine("runs", "demo-" + p.Name);
            if (pr.GetValue(tune)) return await Tune(p, dir, pr.GetValue(seed), pr.GetValue(tuneMethods), ct);
            DemoResults results;
            try
            {
                results = await RunProgressView.RunAsync($"demo {p.Name}", (progress, log) =>
                    new DemoPipeline(p, dir, pr.GetValue(seed), pr.GetValue(resume), log, pr.GetValue(verbose), pr.GetValue(judge), progress).RunAsync(ct));
            }
            catch (StageFailedException e)
            {
                Console.Error.WriteLine($"distill demo: {e.Message} (continue with --resume)");
                return 1;
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                Console.Error.WriteLine($"distill demo: stopped; every finished stage, run and checkpoint in {dir} is kept. " +
                    $"Continue with: distill demo --preset {p.Name}{(pr.GetValue(output) is { } o ? $" --out {o}" : "")}{(pr.GetValue(seed) != 0 ? $" --seed {pr.GetValue(seed)}" : "")} --resume");
                return Interruption.ExitCode;
            }
            ReportCommand.Render(results, dir, Path.Combine(dir, "results.json"), screenshot: true);
            return 0;
        });
        return command;
    }

    static async Task<int> Tune(DemoPreset p, string dir, int seed, string? methods, CancellationToken ct)
    {
        var only = methods?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet();
        foreach (var m in only ?? [])
            if (!DemoMethods.All.Any(x => x.Name == m && x.Family != "persd"))
                throw new BadInputException($"--tune-methods: unknown method '{m}'; expected some of {string.Join(", ", DemoMethods.All.Where(x => x.Family != "persd").Select(x => x.Name))}");
        try
        {
            await RunProgressView.RunAsync($"demo {p.Name} --tune", (progress, log) => DemoTuning.RunAsync(p, dir, seed, DemoTuning.Grid(p, only), log, ct, progress));
        }
        catch (InvalidOperationException e) when (!ct.IsCancellationRequested) { throw new BadInputException(e.Message); }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            Console.Error.WriteLine($"distill demo --tune: stopped; finished candidates in {dir}/tune are kept and reused when it is run again");
            return Interruption.ExitCode;
        }
        return 0;
    }
}
