using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using Distill.Data.BuiltInTask;
using Distill.Evaluation.Judge;
using Distill.Methods.Runs;
using Distill.Models;
using Distill.Report;

namespace Distill.Methods.Demo;

/// <summary>
/// `distill demo`: the papers' comparison end to end on the built-in code task (issue 16 §1), as stages over DIR:
/// data → base (BPE, teacher and student from scratch on the train shard) → serve (the teacher on loopback) → one recipe
/// run per method on the distill shard → PLaD's distill-fraction runs → reward model → evaluation on the test shard.
/// Every stage is resumable (runs reuse `distill run`'s markers; evaluations are kept in DIR/eval), results.json is
/// rewritten after every stage, and everything random is seeded by --seed.
/// </summary>
/// <param name="judge">null: the rule-based judge; else a model reference (openai:MODEL[@URL], anthropic:MODEL) judging through the
/// response cache DIR/judge-cache.sqlite (the key comes from the environment, as for a teacher).</param>
/// <param name="progress">where the stages (level 0: the demo's; level 1: a recipe run's) and the work inside them are reported
/// for a console to draw (null: nobody listens; the log lines are written either way).</param>
public sealed class DemoPipeline(DemoPreset preset, string outDir, int seed, bool resume, TextWriter log, bool verbose = false, string? judge = null,
    IProgress<RunProgressEvent>? progress = null)
{
    readonly DemoPaths _paths = new(Path.GetFullPath(outDir));
    // two stages may write at once (DemoPreset.ParallelRuns)
    readonly TextWriter _log = TextWriter.Synchronized(log);
    readonly object _gate = new();
    readonly Stopwatch _wall = Stopwatch.StartNew();
    DemoResults _results = null!;
    int _stageIndex;
    CancellationToken _ct;
    Microsoft.Extensions.AI.IChatClient? _llmJudge;

    public DemoPaths Paths => _paths;

    /// <summary>
    /// The demo's stages, in order: data, base, the teacher's and the student's evaluations, serve, one per method run (the
    /// methods, then PLaD's fractions), the reward model, one evaluation per method run, and the scores.
    /// </summary>
    public int StageCount => 5 + 2 * (DemoMethods.All.Count + preset.PladFractions.Length) + 2;

    public async Task<DemoResults> RunAsync(CancellationToken ct = default)
    {
        _ct = ct;
        if (!resume && File.Exists(_paths.Results))
            throw new InvalidOperationException($"{_paths.Root} already holds a demo; pass --resume to continue it, or choose another --out");
        Directory.CreateDirectory(_paths.Root);
        if (resume && File.Exists(_paths.Results))
        {
            var old = DemoResults.Load(_paths.Results);
            if (old.Preset != preset.Name || old.Seed != seed)
                throw new InvalidOperationException($"{_paths.Results}: the demo there is preset {old.Preset}, seed {old.Seed}; this one is {preset.Name}, seed {seed}: choose another --out");
        }
        _results = new DemoResults { Preset = preset.Name, Seed = seed, Machine = Machine(), Started = DateTimeOffset.UtcNow, Judge = judge ?? Distill.Evaluation.Judge.ReferenceAgreementJudge.Label, TestProblems = preset.TestProblems };
        using var judgeCache = judge is null ? null : new Chat.Caching.ResponseCache(Path.Combine(_paths.Root, "judge-cache.sqlite"));
        _llmJudge = judge is null ? null : Chat.ChatPipeline.Compose(Chat.ChatClientFactory.Create(Chat.ModelReference.Parse(judge)), judge, new Chat.ChatPipelineOptions { Cache = judgeCache, MaxConcurrency = 1 });
        _log.WriteLine($"distill demo: preset {preset.Name}, seed {seed}, into {_paths.Root}{(resume ? " (resuming)" : "")}");

        List<Problem> test = null!;
        await Stage("data", async () =>
        {
            test = WriteData();
            if (preset.TeacherRepairProblems > 0)
            {
                int n = await DemoRepairData.WriteAsync(preset, seed, _paths.TeacherRepairData, ct);
                _log.WriteLine($"  teacher repair conversations (PERsD's, train shard): {n} → {Path.GetRelativePath(_paths.Root, _paths.TeacherRepairData)}");
            }
        });
        await Stage("base: BPE, teacher and student from scratch (train shard)", async () =>
        {
            await RunRecipe("base", DemoMethods.BaseRecipe(preset, seed, _paths), ct);
            // the trained student's folder (the train stage's model/) holds weights and config; the methods load it as
            // student.model, so it gets the tokenizer files of the folder it was initialized in
            CopyTokenizer(Path.Combine(_paths.BaseRun, "models", "student"), _paths.StudentStart);
        });

        // teacher and student first: the gap every method is measured against is known before any method runs
        var outputs = new Dictionary<string, ModelOutputs>();
        var usage = new Dictionary<string, JsonObject>();
        string? rewardModel = null;
        ParallelStage Evaluate(string name, string dir, string? adapter) =>
            new(name, [], $"eval {name} (test shard: {test.Count} problems × {preset.EvalSamples} samples, sandbox; summaries)", async () =>
            {
                var o = await DemoEvaluation.RunAsync(name, dir, adapter, test, preset, seed, _paths.Eval, resume, ct, progress);
                lock (_gate)
                {
                    outputs[name] = o;
                    Publish(test, outputs, usage, rewardModel);
                }
            });
        await InParallel([Evaluate("teacher", _paths.Teacher, null), Evaluate("student", _paths.StudentStart, null)]);

        await using var server = await Timed("serve: teacher on loopback", () => DemoTeacherServer.StartAsync(_paths.Teacher, _paths.Server, ct));
        _log.WriteLine($"  teacher served at {server.Reference}");
        ParallelStage Method(DemoMethod m, string stage, string name, double fraction = 1.0) =>
            new(name, After(m), stage, async () =>
            {
                var u = await RunMethod(m, DemoMethods.Recipe(m, preset, seed, _paths, server.Reference, fraction, name == m.Name ? null : name), name, ct);
                lock (_gate) usage[name] = u;
            });
        var plad = DemoMethods.All.Single(x => x.Name == "plad-rank");
        await InParallel([
            .. DemoMethods.All.Select(m => Method(m, $"method {m.Name}", m.Name)),
            .. preset.PladFractions.Select(f => Method(plad, $"method {FractionRun(f)} (plad.distill_fraction {f})", FractionRun(f), f)),
        ]);

        await Stage("reward model (train shard: reference ≻ corrupted)", async () => rewardModel = await DemoRewardModel.TrainAsync(preset, seed, _paths, resume, _log, ct, progress));

        var evalModels = DemoMethods.All.Select(m => Trained(m.Name)).Concat(preset.PladFractions.Select(f => Trained(FractionRun(f)))).ToList();
        await InParallel([.. evalModels.Select(e => Evaluate(e.Item1, e.Item2, e.Item3))]);
        await Stage($"scores: ROUGE, judge ({_results.Judge}, both orders), reward model, bootstrap CIs", () => { Publish(test, outputs, usage, rewardModel); return Task.CompletedTask; });
        _log.WriteLine($"distill demo: done in {_wall.Elapsed.TotalSeconds:F1} s; results in {_paths.Results}");
        return _results;
    }

    static string FractionRun(double f) => "plad-rank-f" + f.ToString("0.##", CultureInfo.InvariantCulture);

    static bool IsEmpty(string jsonl) => File.Exists(jsonl) && File.ReadLines(jsonl).All(string.IsNullOrWhiteSpace);

    /// <summary>Marker of a method run that had nothing to train on (its reason); its model is the student start.</summary>
    string Untrained(string name) => Untrained(_paths, name);
    public static string Untrained(DemoPaths paths, string name) => Path.Combine(paths.Run(name), "demo-untrained.json");

    /// <summary>What a method run left: an adapter over the student start, or a full-weights folder.</summary>
    (string, string, string?) Trained(string name)
    {
        var run = _paths.Run(name);
        if (File.Exists(Untrained(name))) return (name, _paths.StudentStart, null);
        if (File.Exists(Path.Combine(run, "adapter", "adapter_config.json"))) return (name, _paths.StudentStart, Path.Combine(run, "adapter"));
        if (File.Exists(Path.Combine(run, "model", "config.json")))
        {
            // a student trained whole: its folder holds weights and config; the tokenizer is the student start's
            CopyTokenizer(_paths.StudentStart, Path.Combine(run, "model"));
            return (name, Path.Combine(run, "model"), null);
        }
        throw new InvalidOperationException($"{run}: the run left neither adapter/ nor model/");
    }

    /// <summary>The tokenizer files of one model folder into another that lacks them.</summary>
    internal static void CopyTokenizer(string from, string to)
    {
        foreach (var f in Directory.GetFiles(from).Where(f => Path.GetFileName(f).StartsWith("tokenizer", StringComparison.Ordinal) || Path.GetFileName(f) == "special_tokens_map.json"))
            if (!File.Exists(Path.Combine(to, Path.GetFileName(f)))) File.Copy(f, Path.Combine(to, Path.GetFileName(f)));
    }

    async Task Stage(string name, Func<Task> body)
    {
        _ct.ThrowIfCancellationRequested();
        var clock = Stopwatch.StartNew();
        int index;
        lock (_gate)
        {
            // numbered and reported together, so that stages started from two threads report their indices in order
            index = _stageIndex++;
            progress?.Report(new StageStarted(0, name, index, StageCount));
        }
        _log.WriteLine($"[{_wall.Elapsed.TotalSeconds,6:F1} s] {name} …");
        await body();
        _log.WriteLine($"[{_wall.Elapsed.TotalSeconds,6:F1} s] {name}: done in {clock.Elapsed.TotalSeconds:F1} s");
        lock (_gate)
        {
            Save();
            progress?.Report(new StageCompleted(0, name, index, StageCount, clock.Elapsed, Skipped: false));
        }
    }

    /// <summary>A stage that may run beside another: its key, the keys of the stages it must follow, its name and work.</summary>
    sealed record ParallelStage(string Key, string[] After, string Name, Func<Task> Body);

    /// <summary>
    /// What a method run must wait for, so that which requests reach the served teacher does not depend on the schedule
    /// (the teacher usage columns stay the same from run to run): DPO-KD and PLaD send SeqKD's requests, answered from the
    /// demo's one response cache once SeqKD asked them; PERsD refine sends PERsD plain's.
    /// </summary>
    static string[] After(DemoMethod m) => m.RecipeMethod switch
    {
        "dpo-kd-offline" or "dpo-kd-online" or "plad" => ["seqkd"],
        "persd" when m.Name != "persd-plain" => ["persd-plain"],
        _ => [],
    };

    /// <summary>
    /// Runs independent stages <see cref="DemoPreset.ParallelRuns"/> at a time, each on one engine thread: the demo's
    /// models are so small (the standard student has 203 k parameters) that a training step's kernels are too short to
    /// split across two threads — measured, 100 full-weight SFT steps of the standard student took 7.9 s of CPU on one
    /// thread and 19.9 s on two (the workers spin between kernels), and took longer in wall time too on a loaded machine.
    /// Two runs on one thread each keep both cores busy instead. Results do not depend on the thread count
    /// (<see cref="Distill.Tensors.Threading.Workers"/> splits by rows, never along a reduction) nor on the schedule
    /// (every run is seeded by its recipe; <see cref="After"/> orders the runs that share teacher requests), so the same
    /// seed gives the same results.json. The first stage is started first, and a stage starts when the stages it follows
    /// are done, in list order.
    /// </summary>
    async Task InParallel(IReadOnlyList<ParallelStage> stages)
    {
        int width = Math.Max(1, preset.ParallelRuns);
        int threads = Distill.Tensors.Threading.Workers.Count;
        if (width > 1) Distill.Tensors.Threading.Workers.Count = 1;
        try
        {
            var pending = stages.ToList();
            var done = new HashSet<string>(StringComparer.Ordinal);
            var running = new Dictionary<Task, string>();
            try
            {
                while (pending.Count > 0 || running.Count > 0)
                {
                    while (running.Count < width && pending.FirstOrDefault(s => s.After.All(a => done.Contains(a) || !stages.Any(x => x.Key == a))) is { } next)
                    {
                        pending.Remove(next);
                        running[Task.Run(() => Stage(next.Name, next.Body), _ct)] = next.Key;
                    }
                    if (running.Count == 0) throw new InvalidOperationException($"demo stages waiting on each other: {string.Join(", ", pending.Select(p => p.Key))}");
                    var finished = await Task.WhenAny(running.Keys);
                    await finished; // a failure stops the schedule (the finally below lets the other stage end first)
                    done.Add(running[finished]);
                    running.Remove(finished);
                }
            }
            finally
            {
                // a failed or cancelled stage: the one beside it ends too (at its next safe point when cancelled) before the
                // failure propagates, so no run is left writing into DIR
                try { await Task.WhenAll(running.Keys); } catch (Exception) { /* the first failure is the one that propagates */ }
            }
        }
        finally { if (width > 1) Distill.Tensors.Threading.Workers.Count = threads; }
    }

    async Task<T> Timed<T>(string name, Func<Task<T>> body)
    {
        T value = default!;
        await Stage(name, async () => value = await body());
        return value;
    }

    void Save()
    {
        lock (_gate)
        {
            _results = _results with { WallSeconds = Math.Round(_wall.Elapsed.TotalSeconds, 1) };
            RunDirectory.WriteAtomic(_paths.Results, _results.ToJson());
        }
    }

    async Task RunRecipe(string name, string yaml, CancellationToken ct)
    {
        Directory.CreateDirectory(_paths.Recipes);
        var file = Path.Combine(_paths.Recipes, name + ".yaml");
        RunDirectory.WriteAtomic(file, yaml);
        var recipe = Recipe.Load(file);
        await RunPipeline.RunAsync(recipe, _paths.Run(name), resume, verbose ? _log : TextWriter.Null, ct: ct, progress: RunProgress.Nested(progress)).ConfigureAwait(false);
    }

    /// <summary>Runs a method's recipe; returns what its teacher cost: requests and tokens that reached the served teacher (cache hits do not).</summary>
    async Task<JsonObject> RunMethod(DemoMethod m, string yaml, string name, CancellationToken ct)
    {
        var usageFile = Path.Combine(_paths.Run(name), "demo-teacher-usage.json");
        try { await RunRecipe(name, yaml, ct); }
        catch (FormatException e) when (m.RecipeMethod == "persd" && IsEmpty(Path.Combine(_paths.Run(name), "data", "persd-train.jsonl")))
        {
            // PERsD trains only on refinements that pass the tests (Chen et al. 2023 §3): a teacher too weak to repair any
            // attempt leaves nothing to train on. The method then changed nothing; the report says so rather than failing.
            var what = preset.PersdTeacherMode == "solve" ? "no teacher solution of a failed task" : "no teacher refinement";
            RunDirectory.WriteAtomic(Untrained(name), new JsonObject { ["reason"] = $"{what} passed the tests: nothing to train on; the student start is reported", ["error"] = e.Message }.ToJsonString());
            _log.WriteLine($"  {name}: {what} passed the tests, nothing to train on (reported as the student start)");
        }
        var json = TeacherUsage(_paths.Run(name));
        json["records"] = File.ReadLines(Path.Combine(_paths.Run(name), "data", DataStage.Output)).Count();
        if (m.RecipeMethod == "persd") json["persd"] = PersdCounts(_paths.Run(name));
        RunDirectory.WriteAtomic(usageFile, json.ToJsonString());
        return json;
    }

    /// <summary>
    /// A PERsD run's counts from its persd-data marker: distill tasks and those the student failed, teacher answers kept (the
    /// teacher's examples the student trains on), training records, and what the teacher was asked (persd.teacher_mode).
    /// </summary>
    public static JsonObject PersdCounts(string runDir)
    {
        var d = JsonNode.Parse(File.ReadAllText(Path.Combine(runDir, "stages", "persd-data.json")))!["details"]!;
        return new JsonObject
        {
            ["tasks"] = (int)d["tasks"]!, ["failed_tasks"] = (int)d["failed_tasks"]!, ["kept"] = (int)d["kept"]!,
            ["train_records"] = (int)d["train_records"]!, ["teacher_mode"] = (string)d["teacher_mode"]!, ["variant"] = (string)d["variant"]!,
        };
    }

    /// <summary>
    /// What a method run paid the served teacher: the usage its stage markers booked (stages/*.json; each stage's ledger sits
    /// under the response cache, so cache hits are free) for the demo's teacher. Read from the markers rather than counted at
    /// the server, so that a resumed demo books a run's calls once, whichever invocation made them.
    /// </summary>
    public static JsonObject TeacherUsage(string runDir)
    {
        long requests = 0, input = 0, output = 0;
        var stages = Path.Combine(runDir, "stages");
        if (Directory.Exists(stages))
            foreach (var marker in Directory.GetFiles(stages, "*.json").Order(StringComparer.Ordinal).Where(StageRunner.IsComplete))
                foreach (var row in JsonNode.Parse(File.ReadAllText(marker))!["usage"]?.AsArray() ?? [])
                    if (((string?)row!["model"])?.StartsWith($"openai:{DemoTeacherServer.ModelName}@", StringComparison.Ordinal) == true)
                    {
                        requests += (long)row["requests"]!;
                        input += (long)row["input_tokens"]!;
                        output += (long)row["output_tokens"]!;
                    }
        return new JsonObject { ["requests"] = requests, ["input_tokens"] = input, ["output_tokens"] = output };
    }

    /// <summary>The three shards as the demo uses them, and the two model shapes as config.json files the recipes point at.</summary>
    List<Problem> WriteData()
    {
        Directory.CreateDirectory(_paths.DataDir);
        var train = TaskGenerator.Generate(Shard.Train, preset.TrainProblems, (ulong)seed, preset.MaxDifficulty);
        var distill = TaskGenerator.Generate(Shard.Distill, preset.DistillProblems, (ulong)seed, preset.MaxDifficulty);
        var test = TaskGenerator.Generate(Shard.Test, preset.TestProblems, (ulong)seed, preset.MaxDifficulty);
        // both views of every problem (DPO-KD's two tasks), interleaved
        WriteJsonl(_paths.TrainData, train.SelectMany(p => new[] { TaskViews.Record(p, TaskView.Gen), TaskViews.Record(p, TaskView.Sum) }));
        WriteJsonl(_paths.DistillData, distill.SelectMany(p => new[] { TaskViews.Record(p, TaskView.Gen), TaskViews.Record(p, TaskView.Sum) }));
        WriteJsonl(_paths.TestGen, test.Select(p => TaskViews.Record(p, TaskView.Gen)));
        WriteJsonl(_paths.TestSum, test.Select(p => TaskViews.Record(p, TaskView.Sum)));
        // the teacher reads PERsD's repair conversations (TeacherMaxSeqLen) and answers them (2 × MaxNewTokens, the recipes' teacher.max_tokens)
        WriteConfig(_paths.TeacherConfig, preset.Teacher, preset.TeacherRepairProblems > 0 ? preset.TeacherMaxSeqLen + 2 * preset.MaxNewTokens : 0);
        WriteConfig(_paths.StudentConfig, preset.Student);
        _log.WriteLine($"  train {train.Count} problems (gen + sum), distill {distill.Count}, test {test.Count}; teacher {Shape(preset.Teacher)}, student {Shape(preset.Student)}");
        return test;
    }

    static string Shape(DemoModelShape s) => $"{s.Layers}×{s.Hidden} (heads {s.Heads})";

    void WriteConfig(string path, DemoModelShape s, int positions = 0)
    {
        var c = ModelPresets.Get("tiny") with
        {
            VocabSize = preset.BpeVocab, HiddenSize = s.Hidden, IntermediateSize = s.Intermediate, NumLayers = s.Layers,
            NumHeads = s.Heads, NumKvHeads = s.KvHeads, HeadDim = s.Hidden / s.Heads, MaxPositionEmbeddings = Math.Max(Math.Max(512, positions), preset.MaxSeqLen),
        };
        var json = Models.Formats.ConfigJson.ToJson(c).ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true });
        RunDirectory.WriteAtomic(path, json);
    }

    static void WriteJsonl(string path, IEnumerable<JsonObject> records)
        => RunDirectory.WriteAtomic(path, string.Concat(records.Select(r => r.ToJsonString() + "\n")));

    /// <summary>Recomputes every figure from the kept outputs (deterministic: same outputs, same seed → same numbers) and saves results.json.</summary>
    void Publish(List<Problem> test, Dictionary<string, ModelOutputs> outputs, Dictionary<string, JsonObject> usage, string? rewardModel)
    {
        _results = DemoScores.Compute(_results, preset, seed, _paths, test, outputs, usage, rewardModel, _llmJudge);
        Save();
    }

    static string Machine()
    {
        string cpu = "unknown CPU";
        try { cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? cpu; }
        catch (IOException) { }
        return $"{cpu}, {Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}, .NET {Environment.Version}";
    }
}
