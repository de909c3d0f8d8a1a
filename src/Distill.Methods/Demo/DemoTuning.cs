using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Distill.Data.BuiltInTask;
using Distill.Evaluation.Code;
using Distill.Methods.Runs;
using Distill.Models;
using Distill.Models.Lora;
using Distill.Report;
using Distill.Text;

namespace Distill.Methods.Demo;

/// <summary>One point of the grid: a method and the settings it trains with.</summary>
public sealed record DemoCandidate(string Method, DemoMethodSettings Settings)
{
    /// <summary>Run folder name: method, lr, steps, sft_weight and β, e.g. dpo-kd-offline_lr5e-4_s128_sft1_b0.1.</summary>
    public string Id
    {
        get
        {
            var inv = CultureInfo.InvariantCulture;
            var id = $"{Method}_lr{Settings.Lr.ToString("0.#e0", inv)}_s{Settings.Steps}";
            if (Settings.SftWeight != 0) id += "_sft" + Settings.SftWeight.ToString("R", inv);
            if (Settings.Beta is { } b) id += "_b" + b.ToString("R", inv);
            return id;
        }
    }
}

/// <summary>One candidate's validation score: mean pass@1 over the validation slice with its 95% bootstrap interval.</summary>
public sealed record DemoTuneRow(DemoCandidate Candidate, Estimate Pass1, double TrainSeconds, double EvalSeconds);

/// <summary>
/// `distill demo --tune`: chooses each method's hyperparameters on the distill shard, never on the test shard (issue 16
/// §1). The distill shard's problems are split once, by seed, into a validation slice (<see cref="DemoPreset.TuneValidationProblems"/>)
/// and the rest; every candidate of <see cref="Grid"/> trains on the rest (both views, exactly as the demo's recipe, from
/// the same student start) and is scored by pass@1 on the validation slice through the demo's own gen-view evaluation
/// (<see cref="DemoEvaluation.GenerateAndTestAsync"/>, the sandbox). The chosen values go into <see cref="DemoPreset.Methods"/>
/// by hand (the evidence in docs/demo.md); the final demo then trains on the whole distill shard.
/// </summary>
public static class DemoTuning
{
    /// <summary>
    /// The distill shard's problems (as the demo draws them) split into the problems the methods train on during selection
    /// and the validation slice, disjoint (distinct problems; the shard draws each behaviour once). The slice is a seeded
    /// random subset, not the last problems, so it has the shard's mix of difficulties.
    /// </summary>
    public static (List<Problem> Train, List<Problem> Validation) Split(DemoPreset p, int seed)
    {
        var distill = TaskGenerator.Generate(Shard.Distill, p.DistillProblems, (ulong)seed, p.MaxDifficulty);
        int v = p.TuneValidationProblems;
        if (v < 1 || v >= distill.Count)
            throw new ArgumentException($"preset {p.Name}: TuneValidationProblems {v} must be in [1, {distill.Count - 1}] (the distill shard's {distill.Count} problems)");
        var order = Enumerable.Range(0, distill.Count).ToArray();
        new Random(seed + 16).Shuffle(order);
        var held = order.Take(v).ToHashSet();
        return (distill.Where((_, i) => !held.Contains(i)).ToList(), distill.Where((_, i) => held.Contains(i)).ToList());
    }

    /// <summary>
    /// The grid, relative to the preset's common lr (L): the baselines at lr {L/4, L}; each preference method at lr
    /// {L/10, L/4, L} × sft_weight {0, 1} (RPO's NLL term on the chosen answer against DPO's likelihood displacement), β 0.1
    /// (the DPO-KD paper's), all at the preset's steps (with L = 2e-3, LoRA's, {2e-4, 5e-4, 2e-3}; with L = 1e-3, every
    /// weight trained, {1e-4, 2.5e-4, 1e-3}). L with sft_weight 0 is the preset's setting before tuning. PERsD is left
    /// out: its teacher repairs no attempt on this task, so it trains nothing whatever its settings.
    /// </summary>
    public static IReadOnlyList<DemoCandidate> Grid(DemoPreset p, IReadOnlyCollection<string>? methods = null)
    {
        var grid = new List<DemoCandidate>();
        double L = p.MethodLr;
        foreach (var m in DemoMethods.All.Where(m => m.Family != "persd" && (methods is null || methods.Contains(m.Name))))
        {
            if (m.Family == "preference")
                // most promising first (the DPO-KD paper's lr 5e-4 with RPO's NLL term), so a grid stopped early has run those
                foreach (var (lr, sft) in new[] { (L / 4, 1.0), (L / 4, 0.0), (L, 0.0), (L / 10, 1.0), (L, 1.0), (L / 10, 0.0) })
                    grid.Add(new(m.Name, new(lr, p.MethodSteps, sft)));
            else
                foreach (var lr in new[] { L / 4, L })
                    grid.Add(new(m.Name, new(lr, p.MethodSteps)));
        }
        return grid;
    }

    /// <summary>
    /// Per method, the candidate with the highest validation pass@1; ties go to the preset's common setting (lr
    /// <see cref="DemoPreset.MethodLr"/>, no NLL term), then to the smaller learning rate.
    /// </summary>
    public static Dictionary<string, DemoTuneRow> Choose(IEnumerable<DemoTuneRow> rows, DemoPreset p)
        => rows.GroupBy(r => r.Candidate.Method).ToDictionary(g => g.Key, g => g
            .OrderByDescending(r => Math.Round(r.Pass1.Mean, 9))
            .ThenByDescending(r => r.Candidate.Settings == p.For(r.Candidate.Method) ? 1 : 0)
            .ThenBy(r => r.Candidate.Settings.Lr).ThenBy(r => r.Candidate.Settings.SftWeight)
            .First());

    /// <summary>
    /// Runs the grid in DIR/tune over the demo's base (DIR/runs/base: `distill demo` makes it; it is not retrained here).
    /// Resumable: a finished candidate's run and validation outputs are reused.
    /// </summary>
    public static async Task<List<DemoTuneRow>> RunAsync(DemoPreset p, string outDir, int seed, IReadOnlyList<DemoCandidate> grid, TextWriter log,
        CancellationToken ct = default, IProgress<RunProgressEvent>? progress = null)
    {
        var demo = new DemoPaths(Path.GetFullPath(outDir));
        foreach (var (dir, what) in new[] { (demo.StudentStart, "student start"), (demo.Teacher, "teacher") })
            if (!File.Exists(Path.Combine(dir, "config.json")) || !File.Exists(Path.Combine(dir, "tokenizer.json")))
                throw new InvalidOperationException($"{dir}: no {what} (config.json, tokenizer.json); run `distill demo --preset {p.Name} --out {outDir}` first: --tune reuses its base stage");
        var root = Path.Combine(demo.Root, "tune");
        var (train, validation) = Split(p, seed);
        var selectTrain = Path.Combine(root, "data", "select-train.jsonl");
        Directory.CreateDirectory(Path.GetDirectoryName(selectTrain)!);
        RunDirectory.WriteAtomic(selectTrain, string.Concat(train.SelectMany(q => new[] { TaskViews.Record(q, TaskView.Gen), TaskViews.Record(q, TaskView.Sum) }).Select(r => r.ToJsonString() + "\n")));
        RunDirectory.WriteAtomic(Path.Combine(root, "data", "validation.jsonl"), string.Concat(validation.Select(q => TaskViews.Record(q, TaskView.Gen).ToJsonString() + "\n")));
        var paths = demo with { DistillDataOverride = selectTrain };
        log.WriteLine($"distill demo --tune: preset {p.Name}, seed {seed}; distill shard {train.Count + validation.Count} problems = {train.Count} to train on + {validation.Count} validation; {grid.Count} candidates; into {root}");

        var rows = new List<DemoTuneRow>();
        var reference = new Dictionary<string, Estimate>();
        foreach (var (name, dir) in new[] { ("teacher", demo.Teacher), ("student", demo.StudentStart) })
        {
            var (e, _) = await ScoreAsync(name, dir, null, validation, p, seed, root, ct);
            reference[name] = e;
            log.WriteLine($"  {name,-40} validation pass@1 {Pct(e)}");
        }
        // the demo's own server state (its port): the candidates reach the teacher under the same reference as the demo's
        // method runs, so the answers those runs received (their response caches) answer the candidates too
        await using var server = await DemoTeacherServer.StartAsync(demo.Teacher, demo.Server, ct);
        var sharedCache = Path.Combine(root, "teacher-cache.sqlite");
        if (!File.Exists(sharedCache))
            foreach (var m in DemoMethods.All.Where(m => m.UsesApiTeacher))
                MergeCache(Path.Combine(demo.Run(m.Name), "cache.sqlite"), sharedCache);
        foreach (var c in grid)
        {
            ct.ThrowIfCancellationRequested();
            var m = DemoMethods.All.Single(x => x.Name == c.Method);
            var runDir = Path.Combine(root, "runs", c.Id);
            var recipeFile = Path.Combine(root, "recipes", c.Id + ".yaml");
            Directory.CreateDirectory(Path.GetDirectoryName(recipeFile)!);
            RunDirectory.WriteAtomic(recipeFile, DemoMethods.Recipe(m, p, seed, paths, server.Reference, name: "tune-" + c.Id, settings: c.Settings));
            var clock = System.Diagnostics.Stopwatch.StartNew();
            progress?.Report(new StageStarted(0, c.Id, rows.Count, grid.Count));
            // every candidate asks the teacher the same prompts with the same settings: a new run starts from the answers
            // the earlier candidates received (the response cache), so the grid pays the teacher once
            if (!Directory.Exists(runDir) && File.Exists(sharedCache))
            {
                Directory.CreateDirectory(runDir);
                File.Copy(sharedCache, Path.Combine(runDir, "cache.sqlite"));
            }
            await RunPipeline.RunAsync(Recipe.Load(recipeFile), runDir, resume: true, TextWriter.Null, ct: ct, progress: RunProgress.Nested(progress));
            ShareCache(Path.Combine(runDir, "cache.sqlite"), sharedCache);
            double trainSeconds = clock.Elapsed.TotalSeconds;
            clock.Restart();
            // an adapter over the student start, or (student.adapter.r 0) the weights trained whole, with the start's tokenizer
            var adapter = Path.Combine(runDir, "adapter");
            var whole = Path.Combine(runDir, "model");
            bool full = !Directory.Exists(adapter) && File.Exists(Path.Combine(whole, "config.json"));
            if (full) DemoPipeline.CopyTokenizer(demo.StudentStart, whole);
            var (pass1, _) = await ScoreAsync(c.Id, full ? whole : demo.StudentStart, Directory.Exists(adapter) ? adapter : null, validation, p, seed, root, ct);
            rows.Add(new DemoTuneRow(c, pass1, Math.Round(trainSeconds, 1), Math.Round(clock.Elapsed.TotalSeconds, 1)));
            progress?.Report(new StageCompleted(0, c.Id, rows.Count - 1, grid.Count, TimeSpan.FromSeconds(trainSeconds + clock.Elapsed.TotalSeconds), Skipped: false));
            log.WriteLine($"  {c.Id,-40} validation pass@1 {Pct(pass1)}   (train {trainSeconds:F0} s, eval {clock.Elapsed.TotalSeconds:F0} s)");
            Save(root, p, seed, validation.Count, reference, rows);
        }
        log.WriteLine();
        log.WriteLine($"chosen on the validation slice ({validation.Count} distill-shard problems; teacher {Pct(reference["teacher"])}, student start {Pct(reference["student"])}):");
        foreach (var (method, row) in Choose(rows, p))
            log.WriteLine($"  {method,-16} lr {row.Candidate.Settings.Lr.ToString("R", CultureInfo.InvariantCulture)}, steps {row.Candidate.Settings.Steps}, sft_weight {row.Candidate.Settings.SftWeight.ToString("R", CultureInfo.InvariantCulture)}" +
                          $"{(row.Candidate.Settings.Beta is { } b ? $", β {b.ToString("R", CultureInfo.InvariantCulture)}" : "")}   pass@1 {Pct(row.Pass1)}");
        log.WriteLine($"grid and choice in {Path.Combine(root, "tune.json")}");
        return rows;
    }

    /// <summary>A consistent copy of a run's response cache (VACUUM INTO reads through the WAL) replaces the shared one: it holds every answer so far.</summary>
    static void ShareCache(string runCache, string shared)
    {
        if (!File.Exists(runCache)) return;
        var tmp = shared + ".tmp";
        File.Delete(tmp);
        using (var c = new Microsoft.Data.Sqlite.SqliteConnection(new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder { DataSource = runCache, Pooling = false }.ToString()))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "VACUUM INTO $path";
            cmd.Parameters.AddWithValue("$path", tmp);
            cmd.ExecuteNonQuery();
        }
        File.Move(tmp, shared, overwrite: true);
    }

    /// <summary>Adds a demo run's cached teacher answers to the shared cache (created on first use).</summary>
    static void MergeCache(string runCache, string shared)
    {
        if (!File.Exists(runCache)) return;
        if (!File.Exists(shared)) { ShareCache(runCache, shared); return; }
        using var c = new Microsoft.Data.Sqlite.SqliteConnection(new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder { DataSource = shared, Pooling = false }.ToString());
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "ATTACH DATABASE $path AS other; INSERT OR IGNORE INTO responses SELECT * FROM other.responses; DETACH DATABASE other;";
        cmd.Parameters.AddWithValue("$path", runCache);
        cmd.ExecuteNonQuery();
    }

    static string Pct(Estimate e) => $"{100 * e.Mean,5:F1} % [{100 * (e.Lo ?? double.NaN):F1}, {100 * (e.Hi ?? double.NaN):F1}]";

    /// <summary>pass@1 of one model on the validation slice (per problem: Chen et al.'s estimator over n samples), its outputs kept in tune/eval/NAME.json.</summary>
    static async Task<(Estimate, List<GenOutput>)> ScoreAsync(string name, string modelDir, string? adapterDir, List<Problem> validation, DemoPreset p, int seed, string root, CancellationToken ct)
    {
        var file = Path.Combine(root, "eval", name + ".json");
        List<GenOutput> gen;
        if (File.Exists(file)) gen = JsonSerializer.Deserialize<List<GenOutput>>(File.ReadAllText(file), DemoResults.Json)!;
        else
        {
            using var model = ModelIO.Load(modelDir);
            if (adapterDir is not null) LoraModel.Load(model, adapterDir);
            gen = await DemoEvaluation.GenerateAndTestAsync(model, TokenizerLoader.Load(modelDir), validation, p, seed, ct).ConfigureAwait(false);
            Directory.CreateDirectory(Path.GetDirectoryName(file)!);
            RunDirectory.WriteAtomic(file, JsonSerializer.Serialize(gen, DemoResults.Json));
        }
        var perProblem = gen.Select(g => PassAtK.Estimate(g.Passed.Count, g.C, 1)).ToList();
        return (Bootstrap.Mean(perProblem, p.BootstrapResamples, seed + 1), gen);
    }

    static void Save(string root, DemoPreset p, int seed, int validation, Dictionary<string, Estimate> reference, List<DemoTuneRow> rows)
    {
        JsonObject Est(Estimate e) => new() { ["mean"] = e.Mean, ["lo"] = e.Lo, ["hi"] = e.Hi, ["n"] = e.N };
        JsonObject Settings(DemoMethodSettings s) => new() { ["lr"] = s.Lr, ["steps"] = s.Steps, ["sft_weight"] = s.SftWeight, ["beta"] = s.Beta };
        var json = new JsonObject
        {
            ["preset"] = p.Name, ["seed"] = seed, ["validation_problems"] = validation, ["metric"] = $"pass@1 (n = {p.EvalSamples}, T = {p.EvalTemperature.ToString("R", CultureInfo.InvariantCulture)})",
            ["teacher"] = Est(reference["teacher"]), ["student"] = Est(reference["student"]),
            ["grid"] = new JsonArray(rows.Select(r => (JsonNode)new JsonObject
            {
                ["id"] = r.Candidate.Id, ["method"] = r.Candidate.Method, ["settings"] = Settings(r.Candidate.Settings), ["pass1"] = Est(r.Pass1),
                ["train_seconds"] = r.TrainSeconds, ["eval_seconds"] = r.EvalSeconds,
            }).ToArray()),
            ["chosen"] = new JsonObject(Choose(rows, p).Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)new JsonObject { ["id"] = kv.Value.Candidate.Id, ["settings"] = Settings(kv.Value.Candidate.Settings), ["pass1"] = Est(kv.Value.Pass1) }))),
        };
        RunDirectory.WriteAtomic(Path.Combine(root, "tune.json"), json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }
}
