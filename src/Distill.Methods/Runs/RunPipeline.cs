namespace Distill.Methods.Runs;

/// <summary>
/// `distill run`: a recipe → its stages, in a run directory. A new run writes the resolved recipe;
/// `--resume` requires the same resolved recipe (else it names the first key that changed) and
/// skips complete stages.
/// </summary>
public static class RunPipeline
{
    /// <summary>The stages of a method: sft = data, train; seqkd = data, teacher-gen, train; token-kd = data, train.</summary>
    public static IReadOnlyList<IStage> Stages(Recipe recipe, RunDirectory dir, ITrainStage trainer, Func<RunContext, Microsoft.Extensions.AI.IChatClient>? teacher = null)
        => recipe.Method switch
        {
            "seqkd" => [new DataStage(), new TeacherGenerationStage(teacher), new TrainStage(trainer, dir.DataFile(TeacherGenerationStage.Output))],
            "sft" or "token-kd" => [new DataStage(), new TrainStage(trainer, dir.DataFile(DataStage.Output))],
            var m => throw new RecipeException("recipe", null, "method", $"unknown method '{m}'"),
        };

    /// <summary>Opens (or starts) the run directory for a recipe; the run's context.</summary>
    public static RunContext Open(Recipe recipe, string root, bool resume, TextWriter log)
    {
        var recipeFile = Path.Combine(root, "recipe.yaml");
        if (File.Exists(recipeFile))
        {
            if (!resume) throw new InvalidOperationException($"{root} already holds a run; pass --resume to continue it, or choose another --out");
            var saved = Recipe.Load(recipeFile);
            if (recipe.FirstDifference(saved) is { } key)
                throw new RecipeException(recipeFile, null, key, $"differs from the run being resumed (was {saved[key] ?? "null"}, now {recipe[key] ?? "null"}); start a new run with another --out");
        }
        var dir = new RunDirectory(root);
        var secrets = Secrets.Values(recipe).ToList();
        if (!File.Exists(recipeFile)) RunDirectory.WriteAtomic(recipeFile, Secrets.Redact(recipe.ToYaml(), secrets));
        return new RunContext(recipe, dir, log, secrets);
    }
}
