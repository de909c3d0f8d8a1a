namespace Distill.Methods.Runs;

/// <summary>
/// How a recipe becomes a run: the method's stages, in order, over a run directory. `distill run` and the
/// smoke-recipe tests both go through <see cref="RunAsync"/>.
/// </summary>
public static class RunPipeline
{
    /// <summary>
    /// The stages of a method: data; `models` when the recipe initializes its own student or teacher (student.init,
    /// teacher.init); then the method's own (<see cref="IRecipeMethod.Stages"/>): sft = train; seqkd = teacher-gen,
    /// train; token-kd = train.
    /// </summary>
    public static IReadOnlyList<IStage> Stages(Recipe recipe, RunDirectory dir, ITrainStage? trainer = null, Func<RunContext, Microsoft.Extensions.AI.IChatClient>? teacher = null)
    {
        var method = RecipeMethods.Find(recipe.Method) ?? throw new RecipeException("recipe", null, "method", $"unknown method '{recipe.Method}'");
        var stages = new List<IStage> { new DataStage() };
        if (ModelStage.Needed(recipe)) stages.Add(new ModelStage());
        stages.AddRange(method.Stages(dir, trainer ?? new RecipeTrainStage(), teacher));
        if ((bool)recipe["eval.enabled"]!) stages.Add(new Eval.EvalStage(teacher));
        return stages;
    }

    /// <summary>
    /// Runs a recipe into <paramref name="root"/> (what `distill run` does): opens the run directory, runs every stage
    /// not already complete (on <paramref name="resume"/>), and says where the run is. A stage that fails throws
    /// <see cref="StageFailedException"/>; bad input throws before anything runs.
    /// </summary>
    public static async Task<RunContext> RunAsync(Recipe recipe, string root, bool resume, TextWriter log, ITrainStage? trainer = null,
        Func<RunContext, Microsoft.Extensions.AI.IChatClient>? teacher = null, CancellationToken ct = default, IProgress<RunProgressEvent>? progress = null)
    {
        ModelStage.CheckFolders(recipe);
        var ctx = Open(recipe, root, resume, log) with { Progress = progress };
        await StageRunner.RunAsync(ctx, Stages(recipe, ctx.Dir, trainer, teacher), resume, ct).ConfigureAwait(false);
        ctx.Say($"run complete: {ctx.Dir.Root}");
        return ctx;
    }

    /// <summary>teacher.cache, relative to the recipe's folder (null: the run's own cache.sqlite).</summary>
    static string? SharedCache(Recipe recipe)
    {
        var c = recipe.String("teacher.cache");
        if (c.Length == 0) return null;
        return Path.IsPathRooted(c) || recipe.SourcePath is not { } file ? c : Path.Combine(Path.GetDirectoryName(file)!, c);
    }

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
        var dir = new RunDirectory(root, SharedCache(recipe));
        var secrets = Secrets.Values(recipe).ToList();
        if (!File.Exists(recipeFile)) RunDirectory.WriteAtomic(recipeFile, Secrets.Redact(recipe.ToYaml(), secrets));
        return new RunContext(recipe, dir, log, secrets);
    }
}
