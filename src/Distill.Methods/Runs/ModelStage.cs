using System.Text.Json.Nodes;
using Distill.Data.Jsonl;
using Distill.Methods.Sft;
using Distill.Methods.Training;
using Distill.Models;
using Distill.Models.Formats;
using Distill.Tensors.Optim;
using Distill.Text.Trainer;
using Distill.Training;

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

    internal static bool IsApiModel(string t) => t.StartsWith("openai:", StringComparison.Ordinal) || t.StartsWith("anthropic:", StringComparison.Ordinal);

    internal static string Resolve(Recipe r, string path)
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
            var config = ModelFolder.ResolveConfig(ModelPresets.Names.Contains(preset) ? preset : Resolve(r, preset), tokenizer);
            // The trained BPE has one special token, id 0: it ends a text (GPT-2's convention), and there is no BOS.
            if (trained) config = config with { BosTokenId = null, EosTokenIds = [0], PadTokenId = 0 };
            var output = Path.Combine(dir, who);
            if (Directory.Exists(output)) Directory.Delete(output, recursive: true); // a rerun after a kill starts the folder afresh
            long n = ModelFolder.Init(config, tokenizer, output, seed, SafetensorsDType.F32);
            ctx.Say($"[{Name}] {who}: {preset} ({config.Architecture}), {n:N0} parameters, vocab {config.VocabSize} → models/{who}");
            if (who == "teacher" && r.Int("teacher.init_steps") > 0) TrainTeacher(ctx, output, seed, ct);
            outputs.AddRange(Directory.GetFiles(output));
        }
        return Task.FromResult(StageResult.Files([.. outputs]));
    }

    /// <summary>
    /// teacher.init_steps &gt; 0: the new teacher is fine-tuned (every weight, SFT, through the same
    /// <see cref="TrainingSetup"/> as the train stage) on the run's data before it teaches, so that its answers
    /// (SeqKD) and distributions (token-level KD) carry something of the task rather than noise. Its metrics stay in
    /// models/teacher-sft/metrics.jsonl; its weights replace models/teacher's.
    /// </summary>
    static void TrainTeacher(RunContext ctx, string teacherDir, ulong seed, CancellationToken ct)
    {
        var r = ctx.Recipe;
        var work = Path.Combine(ModelsDir(ctx), "teacher-sft");
        // A run stopped mid-way (Ctrl-C, SIGTERM: the Trainer checkpoints at the step boundary) resumes from its newest
        // checkpoint: the teacher folder was just initialized again from the same seed, and the checkpoint holds every
        // weight and the optimizer. Without a checkpoint the fine-tuning starts afresh.
        if (Directory.Exists(work) && TrainerCheckpoint.Complete(work).Count == 0) Directory.Delete(work, recursive: true);
        // teacher.init_data: records only the teacher learns (the demo's repair conversations, its stand-in for an API
        // teacher's ability to repair code), after the run's data; long ones are batched together (group by length)
        var extra = r.String("teacher.init_data");
        var data = ctx.Dir.DataFile(DataStage.Output);
        if (extra.Length > 0)
        {
            var path = Resolve(r, extra);
            if (!File.Exists(path)) throw new StageFailedException("models", $"teacher.init_data: '{extra}' does not exist");
            data = Path.Combine(ModelsDir(ctx), "teacher-sft-data.jsonl");
            RunDirectory.WriteAtomic(data, string.Concat(File.ReadLines(ctx.Dir.DataFile(DataStage.Output)).Concat(File.ReadLines(path))
                .Where(l => l.Trim().Length > 0).Select(l => l + "\n")));
        }
        int maxLength = r.Int("teacher.init_max_seq_len") is > 0 and var m ? (int)m : (int)r.Int("train.max_seq_len");
        var spec = new TrainingSpec
        {
            Method = SftMethod.MethodName, DataFile = data, ModelDir = teacherDir, Lora = null,
            Options = new TrainerOptions
            {
                Stage = "teacher-sft", MaxSteps = (int)r.Int("teacher.init_steps"), BatchSize = (int)r.Int("train.batch_size"),
                MaxLength = maxLength, LearningRate = (float)r.Float("teacher.init_lr"), Schedule = ScheduleKind.Cosine,
                Seed = seed, SaveSteps = Math.Max(10, (int)r.Int("teacher.init_steps") / 4), Resume = true, GroupByLength = extra.Length > 0,
            },
            AppendEos = (bool)r["train.append_eos"]!,
        };
        TrainingResult result;
        using (var prepared = TrainingSetup.Prepare(spec))
            result = prepared.Trainer(work).Run(RunProgress.Training(ctx.Progress), ct);
        if (result.ResumedFromStep > 0) ctx.Say($"[models] teacher: fine-tuning resumed from step {result.ResumedFromStep} (its checkpoint)");
        ct.ThrowIfCancellationRequested();
        if (!result.Completed || result.FinalDir is null) throw new StageFailedException("models", $"the teacher's fine-tuning stopped at step {result.Steps} of {result.TotalSteps}");
        var losses = File.ReadLines(result.MetricsPath).Select(l => (double)JsonNode.Parse(l)!["loss"]!).ToList();
        // the trained weights replace the initial ones; config.json and the tokenizer files stay
        foreach (var f in Directory.GetFiles(result.FinalDir, "*.safetensors*")) File.Copy(f, Path.Combine(teacherDir, Path.GetFileName(f)), overwrite: true);
        Directory.Delete(Path.Combine(work, "checkpoints"), recursive: true);
        Directory.Delete(result.FinalDir, recursive: true);
        ctx.Say($"[models] teacher: {result.Steps} SFT steps on the run's data, loss {losses[0]:G4} → {losses[^1]:G4} (models/teacher-sft/metrics.jsonl)");
    }
}
