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
            try { await RunPipeline.RunAsync(r, pr.GetValue(output) ?? Path.Combine("runs", r.Name), pr.GetValue(resume), Console.Out, Trainer, ct: ct); }
            catch (StageFailedException e)
            {
                Console.Error.WriteLine($"distill run: {e.Message}");
                return 1;
            }
            return 0;
        });
        return command;
    }
}
