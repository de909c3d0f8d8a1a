using System.CommandLine;
using Distill.Methods.Runs;

namespace Distill.Cli.Commands;

/// <summary>`distill run RECIPE.yaml`: a method's stages in a resumable run directory (DESIGN.md §3).</summary>
sealed class RunCommand : IVerb
{
    /// <summary>What trains: the recipe's train stage on the Trainer (tests may substitute another).</summary>
    internal static ITrainStage Trainer { get; set; } = new RecipeTrainStage();

    public Command Build()
    {
        var recipe = new Argument<string>("recipe") { Description = "Recipe YAML (keys: docs/methods.md)" };
        var output = new Option<string?>("--out") { Description = "Run directory (default: runs/NAME)" };
        var resume = new Option<bool>("--resume") { Description = "Continue a run: complete stages are skipped, cached teacher answers are not paid again" };
        var set = new Option<string[]>("--set") { Description = "Override a recipe key, e.g. --set train.lr=1e-4 (repeatable)", AllowMultipleArgumentsPerToken = false };
        var command = new Command("run", "Run a distillation recipe, stage by stage, resumably.\n" +
            "Example: distill run recipes/smoke/seqkd.yaml --out runs/seqkd --set data.n=50   |   distill run recipes/smoke/seqkd.yaml --out runs/seqkd --resume");
        command.Arguments.Add(recipe);
        foreach (var o in new Option[] { output, resume, set }) command.Options.Add(o);
        command.SetAction(async (pr, ct) =>
        {
            // Bad input (a recipe, --set or data line that cannot be used) is VerbHost's exit 2; a stage that
            // failed at run time (a teacher that kept failing) exits 1 with its report: --resume continues it.
            var r = Recipe.Load(pr.GetValue(recipe)!, pr.GetValue(set) ?? []);
            var dir = pr.GetValue(output) ?? Path.Combine("runs", r.Name);
            try
            {
                await RunProgressView.RunAsync($"run {r.Name}", (progress, log) =>
                    RunPipeline.RunAsync(r, dir, pr.GetValue(resume), log, Trainer, ct: ct, progress: progress));
            }
            catch (StageFailedException e)
            {
                Console.Error.WriteLine($"distill run: {e.Message}");
                return 1;
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                Console.Error.WriteLine($"distill run: stopped; every finished stage and checkpoint in {dir} is kept. Continue with: distill run {pr.GetValue(recipe)} --out {dir} --resume");
                return Interruption.ExitCode;
            }
            return 0;
        });
        return command;
    }
}
