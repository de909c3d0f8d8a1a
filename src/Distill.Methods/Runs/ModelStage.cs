using System.Text.Json.Nodes;
using Distill.Data.Jsonl;
using Distill.Models;
using Distill.Models.Formats;
using Distill.Text.Trainer;

namespace Distill.Methods.Runs;

/// <summary>
/// `models`: randomly initialized models the recipe makes itself (student.init, teacher.init: a `distill init`
/// preset), saved in Hugging Face layout under models/ of the run directory, with a tokenizer that is either a
/// tokenizer.json/folder (init.tokenizer, relative to the recipe) or, for init.tokenizer = bpe, a byte-level BPE of
/// init.bpe_vocab tokens trained on the run's own prompts and completions (data/prompts.jsonl). Student and teacher
/// share that tokenizer, hence the vocabulary token-level KD needs. Seeds: the recipe's seed (student), seed + 1 (teacher).
/// </summary>
public sealed class ModelStage : IStage
{
    public const string EndOfText = "<|endoftext|>";
    public string Name => "models";

    public static bool Needed(Recipe r) => r.String("student.init").Length > 0 || r.String("teacher.init").Length > 0;

    static string ModelsDir(RunContext ctx) => Path.Combine(ctx.Dir.Root, "models");

    /// <summary>The student's folder: the one this stage made, or student.model (relative to the recipe's folder when it exists there).</summary>
    public static string StudentPath(RunContext ctx)
        => ctx.Recipe.String("student.init").Length > 0 ? Path.Combine(ModelsDir(ctx), "student") : Resolve(ctx.Recipe, ctx.Recipe.String("student.model"));

    /// <summary>The teacher as a model reference: the folder this stage made, a folder (resolved like the student's), or an API model.</summary>
    public static string TeacherReference(RunContext ctx)
    {
        if (ctx.Recipe.String("teacher.init").Length > 0) return Path.Combine(ModelsDir(ctx), "teacher");
        var t = ctx.Recipe.String("teacher.model");
        return IsApiModel(t) ? t : Resolve(ctx.Recipe, t);
    }

    /// <summary>
    /// Before anything runs: the model folders the recipe names (student.model, a local teacher.model) exist, so a
    /// typo fails in a second, naming the key, not after the data and teacher stages.
    /// </summary>
    public static void CheckFolders(Recipe r)
    {
        var source = r.SourcePath ?? "recipe";
        if (r.String("student.model") is { Length: > 0 } s && !File.Exists(Path.Combine(Resolve(r, s), "config.json")))
            throw new RecipeException(source, null, "student.model", $"'{s}' is not a model folder (no config.json there); give a Hugging Face folder, or student.init a preset");
        if (r.String("teacher.model") is { Length: > 0 } t && !IsApiModel(t) && t != Persd.ReferenceTeacher.ModelName && !File.Exists(Path.Combine(Resolve(r, t), "config.json")))
            throw new RecipeException(source, null, "teacher.model", $"'{t}' is not a model folder (no config.json there) nor openai:MODEL[@BASE_URL] / anthropic:MODEL");
    }

    static bool IsApiModel(string t) => t.StartsWith("openai:", StringComparison.Ordinal) || t.StartsWith("anthropic:", StringComparison.Ordinal);

    static string Resolve(Recipe r, string path)
    {
        if (path.Length == 0 || Path.IsPathRooted(path) || r.SourcePath is not { } recipeFile) return path;
        var beside = Path.Combine(Path.GetDirectoryName(recipeFile)!, path);
        return Directory.Exists(beside) || File.Exists(beside) ? beside : path;
    }

    public Task<StageResult> RunAsync(RunContext ctx, CancellationToken ct)
    {
        var r = ctx.Recipe;
        var dir = ModelsDir(ctx);
        Directory.CreateDirectory(dir);
        string tokenizer;
        bool trained = r.String("init.tokenizer") == "bpe";
        if (trained)
        {
            var texts = new List<string>();
            foreach (var rec in JsonlReader.Read(ctx.Dir.DataFile(DataStage.Output)))
                foreach (var field in new[] { "prompt", "completion" })
                    if (rec.Json[field] is JsonValue v && v.TryGetValue<string>(out var s)) texts.Add(s);
            var bpe = BpeTrainer.Train(texts, new BpeTrainerOptions((int)r.Int("init.bpe_vocab"), MinFrequency: 0, SpecialTokens: [EndOfText]));
            tokenizer = Path.Combine(dir, "tokenizer.json");
            BpeTrainer.Save(bpe, tokenizer);
            ctx.Say($"[{Name}] byte-level BPE, {bpe.Vocab.Count} tokens, trained on {texts.Count} texts → models/tokenizer.json");
        }
        else tokenizer = Resolve(r, r.String("init.tokenizer"));
        ct.ThrowIfCancellationRequested();

        var outputs = new List<string>();
        foreach (var (who, seed) in new[] { ("student", (ulong)r.Int("seed")), ("teacher", (ulong)r.Int("seed") + 1) })
        {
            var preset = r.String(who + ".init");
            if (preset.Length == 0) continue;
            var config = ModelFolder.ResolveConfig(preset, tokenizer);
            // The trained BPE has one special token, id 0: it ends a text (GPT-2's convention), and there is no BOS.
            if (trained) config = config with { BosTokenId = null, EosTokenIds = [0], PadTokenId = 0 };
            var output = Path.Combine(dir, who);
            if (Directory.Exists(output)) Directory.Delete(output, recursive: true); // a rerun after a kill starts the folder afresh
            long n = ModelFolder.Init(config, tokenizer, output, seed, SafetensorsDType.F32);
            ctx.Say($"[{Name}] {who}: {preset} ({config.Architecture}), {n:N0} parameters, vocab {config.VocabSize} → models/{who}");
            outputs.AddRange(Directory.GetFiles(output));
        }
        return Task.FromResult(StageResult.Files([.. outputs]));
    }
}
