using System.Text.Json.Nodes;
using Distill.Data.Datasets;
using Distill.Data.Jsonl;
using Distill.Methods.Runs;

namespace Distill.Methods.ScaleOut;

/// <summary>The data files of an exported TRL project (names under its data/ folder; null = not part of this method).</summary>
public sealed record TrlDataFiles(string? Train, string? Teacher, string? Pairs, string? Sft);

/// <summary>What `distill export --format trl` wrote.</summary>
public sealed record TrlExportResult(string Dir, string Summary, IReadOnlyList<string> Files, IReadOnlyList<string> Notes);

/// <summary>
/// `distill export --format trl --recipe RECIPE.yaml [--run RUN] --out DIR`: a TRL project that trains the recipe's
/// method on GPUs — train.py (TRL's trainer for the method, the recipe's hyperparameters, LoRA / QLoRA), accelerate
/// configs for multi-GPU and DeepSpeed ZeRO-2/3, requirements.txt, the datasets in TRL's formats with Distill's
/// provenance columns, the resolved recipe and a README. The adapter it saves is PEFT's layout, which
/// <c>LoraModel.Load</c> (and so `distill export --adapter`, `distill generate --adapter`) reads back.
///
/// Datasets: sft and token-kd take the recipe's data (the run's data/prompts.jsonl when --run is given, else the data
/// stage is run into a temporary folder — no model is needed). The other methods train on what a teacher produced, so
/// they need a Distill run that got that far (--run): seqkd data/teacher-gen.jsonl; dpo-kd-* data/teacher-gen.jsonl
/// (+ iter-1/pairs.jsonl when present); plad pairs.jsonl (+ sft.jsonl); persd data/persd-train.jsonl or
/// data/persd-pairs.jsonl.
/// </summary>
public static class TrlProject
{
    /// <summary>The TRL release the generated code and its keyword arguments are written for (requirements.txt pins it).</summary>
    public const string TrlVersion = "0.24.0";

    public static TrlExportResult Write(Recipe recipe, string? runDir, string outDir)
    {
        var settings = TrlSettings.From(recipe);
        if (runDir is not null && !File.Exists(Path.Combine(runDir, "recipe.yaml")))
            throw new ArgumentException($"--run {runDir}: not a Distill run folder (no recipe.yaml there)");
        if (Directory.Exists(outDir) && Directory.EnumerateFileSystemEntries(outDir).Any())
            throw new ArgumentException($"--out {outDir}: the folder exists and is not empty; choose another");
        var dataDir = Path.Combine(outDir, "data");
        Directory.CreateDirectory(dataDir);

        var ctx = new RunContext(recipe, new RunDirectory(runDir ?? Path.Combine(outDir, ".distill-run")), TextWriter.Null, []);
        // a student the recipe makes (student.init) exists only in a run: without --run the script asks for --student
        string student = runDir is null && recipe.String("student.init").Length > 0 ? "" : Path.GetFullPath(ModelStage.StudentPath(ctx));
        string? teacher = settings.Trainer != TrlTrainer.Gkd ? null
            : runDir is null && recipe.String("teacher.init").Length > 0 ? null : FullIfLocal(ModelStage.TeacherReference(ctx));
        var files = WriteDatasets(settings, runDir, dataDir, out var counts);

        var written = new List<string>();
        void Put(string rel, string text)
        {
            var path = Path.Combine(outDir, rel);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            RunDirectory.WriteAtomic(path, text);
            written.Add(rel);
        }
        Put("train.py", TrlTrainScript.Render(settings, student, teacher, files));
        foreach (var (rel, text) in TrlLaunchFiles.Accelerate()) Put(rel, text);
        Put("requirements.txt", TrlLaunchFiles.Requirements(settings));
        Put("recipe.yaml", Secrets.Redact(recipe.ToYaml(), Secrets.Values(recipe)));
        Put("README.md", TrlLaunchFiles.Readme(settings, files, counts, runDir));
        written.AddRange(counts.Keys.Select(k => Path.Combine("data", k)));
        var tmp = Path.Combine(outDir, ".distill-run");
        if (Directory.Exists(tmp)) Directory.Delete(tmp, recursive: true);

        string data = string.Join(", ", counts.Select(c => $"data/{c.Key} ({c.Value} rows)"));
        return new TrlExportResult(outDir,
            $"TRL {TrlVersion} project: {TrainerName(settings)} for {settings.Method}, {data} → {outDir} (launch: README.md)",
            written, settings.Notes);
    }

    public static string TrainerName(TrlSettings s) => s.Trainer switch
    {
        TrlTrainer.Sft => "SFTTrainer",
        TrlTrainer.Gkd => s.GkdCustomLoss ? "GKDTrainer (subclass with Distill's divergence)" : "GKDTrainer",
        TrlTrainer.Dpo => s.Iterations > 1 ? $"DPOTrainer × {s.Iterations} iterations of generate + DPO" : "DPOTrainer",
        _ => "PladTrainer (DPOTrainer subclass with PLaD's calibration loss)",
    };

    static string FullIfLocal(string model) => Directory.Exists(model) ? Path.GetFullPath(model) : model;

    static TrlDataFiles WriteDatasets(TrlSettings s, string? runDir, string dataDir, out Dictionary<string, int> counts)
    {
        counts = [];
        var c = counts;
        string RunFile(params string[] parts)
        {
            var path = Path.Combine([runDir ?? "", .. parts]);
            if (runDir is null)
                throw new ArgumentException($"method {s.Method} trains on what its teacher produced ({string.Join('/', parts)} of a run): give --run RUN_DIR, a `distill run` of this recipe that got that far");
            if (!File.Exists(path)) throw new ArgumentException($"--run {runDir}: {string.Join('/', parts)} is missing; the run has not produced it yet (distill run --resume)");
            return path;
        }
        void Export(string source, string name, TrlType type, TrlStyle style)
        {
            using var w = new JsonlWriter(Path.Combine(dataDir, name));
            int n = 0;
            foreach (var rec in DatasetReader.Read(source)) { w.Write(TrlFormat.ToTrl(rec, type, style)); n++; }
            if (n == 0) throw new ArgumentException($"{source}: no records to export");
            w.Commit();
            c[name] = n;
        }
        var r = s.Recipe;
        switch (s.Method)
        {
            case "sft" or "token-kd":
            {
                var prompts = runDir is not null && File.Exists(Path.Combine(runDir, "data", DataStage.Output))
                    ? Path.Combine(runDir, "data", DataStage.Output) : RunDataStage(r, Path.Combine(dataDir, "..", ".distill-run"));
                bool gkd = s.Method == "token-kd";
                Export(prompts, "train.jsonl", gkd ? TrlType.Messages : TrlType.PromptCompletion, gkd ? TrlStyle.Conversational : TrlStyle.Standard);
                return new TrlDataFiles("train.jsonl", null, null, null);
            }
            case "seqkd":
                Export(RunFile("data", TeacherGenerationStage.Output), "train.jsonl", TrlType.PromptCompletion, TrlStyle.Standard);
                return new TrlDataFiles("train.jsonl", null, null, null);
            case "dpo-kd-offline" or "dpo-kd-online":
            {
                Export(RunFile("data", TeacherGenerationStage.Output), "teacher.jsonl", TrlType.PromptCompletion, TrlStyle.Standard);
                string? pairs = null;
                if (runDir is not null && File.Exists(Path.Combine(runDir, "iter-1", "pairs.jsonl")))
                {
                    Export(Path.Combine(runDir, "iter-1", "pairs.jsonl"), "pairs-iter1.jsonl", TrlType.Preference, TrlStyle.Standard);
                    pairs = "pairs-iter1.jsonl";
                }
                return new TrlDataFiles(null, "teacher.jsonl", pairs, null);
            }
            case "plad":
            {
                Export(RunFile("pairs.jsonl"), "pairs.jsonl", TrlType.Preference, TrlStyle.Standard);
                string? sft = null;
                if (r.Int("plad.sft_epochs") > 0 && File.Exists(Path.Combine(runDir!, "sft.jsonl")))
                {
                    Export(Path.Combine(runDir!, "sft.jsonl"), "sft.jsonl", TrlType.PromptCompletion, TrlStyle.Standard);
                    sft = "sft.jsonl";
                }
                return new TrlDataFiles(null, null, "pairs.jsonl", sft);
            }
            default: // persd
                if (s.Trainer == TrlTrainer.Sft)
                {
                    Export(RunFile("data", Persd.PersdRun.TrainFile), "train.jsonl", TrlType.PromptCompletion, TrlStyle.Standard);
                    return new TrlDataFiles("train.jsonl", null, null, null);
                }
                Export(RunFile("data", Persd.PersdRun.PairsFile), "pairs.jsonl", TrlType.Preference, TrlStyle.Standard);
                return new TrlDataFiles(null, null, "pairs.jsonl", null);
        }
    }

    /// <summary>The recipe's data stage (built-in task or data.source, data.prompt_template) into a scratch run folder.</summary>
    static string RunDataStage(Recipe r, string scratch)
    {
        var ctx = new RunContext(r, new RunDirectory(scratch), TextWriter.Null, []);
        new DataStage().RunAsync(ctx, CancellationToken.None).GetAwaiter().GetResult();
        return ctx.Dir.DataFile(DataStage.Output);
    }
}
