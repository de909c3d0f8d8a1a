using System.Text.Json.Nodes;
using Distill.Chat.Accounting;
using Distill.Chat.Caching;
using Distill.Chat.Resilience;
using Distill.Data;
using Distill.Data.Jsonl;
using Distill.Evaluation.Sandbox;
using Distill.Methods.Runs;
using Microsoft.Extensions.AI;

namespace Distill.Methods.Persd;

/// <summary>
/// What the PERsD stages share: the recipe's tasks, sandbox, student and teacher. The teacher goes
/// notional ledger → response cache (cache.sqlite) → ledger → retries → the model, so the inner ledger
/// books what this run paid and the outer one what the side's data costs whether or not it came from
/// the cache (the cost table compares PERsD with SeqKD on the latter).
/// </summary>
public static class PersdRun
{
    public const string AttemptsFile = "persd-attempts.jsonl", TrainFile = "persd-train.jsonl", PairsFile = "persd-pairs.jsonl", SeqKdFile = "seqkd-train.jsonl";

    /// <summary>
    /// The repository's data/benchmarks, looked up only for a source that reads it (humaneval, humanevalplus, mbpp:*):
    /// the built-in task and file sources work anywhere, e.g. the published `distill` binary run from another folder.
    /// </summary>
    public static string Benchmarks(string source) => !PersdTasks.NeedsBenchmarks(source) ? ""
        : RepoData.Benchmarks() ?? throw new InvalidOperationException(
            $"PERsD source '{source}' reads the repository's data/benchmarks, which was not found above the working directory nor above the program's folder: " +
            "run from a Distill checkout, or use builtin:*, humaneval-file:PATH or mbpp-file:PATH:train|test");

    public static List<PersdItem> TrainTasks(Recipe r)
    {
        var source = r.String("persd.train_source");
        return PersdTasks.Load(source, PersdSplit.Train, Benchmarks(source), (int)r.Int("data.n"), (ulong)r.Int("data.seed"), (int)r.Int("data.max_difficulty"), Format(r));
    }

    public static PromptFormat Format(Recipe r) => PersdTasks.ParseFormat(r.String("persd.prompt_format"));

    public static List<PersdItem> EvalTasks(Recipe r)
    {
        var source = r.String("persd.eval_source");
        var test = PersdTasks.Load(source, PersdSplit.Test, Benchmarks(source), (int)r.Int("persd.eval_tasks"), (ulong)r.Int("data.seed"), (int)r.Int("data.max_difficulty"), Format(r));
        PersdTasks.EnsureDisjoint(TrainTasks(r), test);
        return test;
    }

    public static SandboxOptions Sandbox(Recipe r) => new() { TimeoutSeconds = r.Float("persd.sandbox_timeout_s") };

    public static PersdOptions Options(Recipe r) => new()
    {
        Samples = (int)r.Int("persd.samples"), Temperature = (float)r.Float("persd.temperature"), MaxNewTokens = (int)r.Int("persd.max_new_tokens"),
        Seed = (ulong)r.Int("seed"), Rounds = (int)r.Int("persd.rounds"), TeacherMaxTokens = (int)r.Int("teacher.max_tokens"),
        TeacherTemperature = (float)r.Float("teacher.temperature"), Concurrency = (int)r.Int("teacher.concurrency"),
        Gold = r.String("persd.gold") == "teacher" ? GoldSource.Teacher : GoldSource.Reference,
        Mode = r.String("persd.teacher_mode") == "solve" ? TeacherMode.Solve : TeacherMode.Repair,
    };

    /// <summary>The recipe's teacher: "reference" is the offline <see cref="ReferenceTeacher"/>, anything else goes through Distill.Chat.</summary>
    public static IChatClient Upstream(RunContext ctx, IReadOnlyList<PersdItem> items, Func<RunContext, IChatClient>? factory)
        => ctx.Recipe.String("teacher.model") == ReferenceTeacher.ModelName ? new ReferenceTeacher(items) : (factory ?? TeacherGenerationStage.DefaultTeacher)(ctx);

    public sealed record Teacher(IChatClient Client, UsageLedger Paid, UsageLedger Notional, ResponseCacheChatClient Cache, PriceTable Prices);

    public static Teacher Compose(RunContext ctx, IChatClient upstream, ResponseCache cache, string stage)
    {
        var r = ctx.Recipe;
        var model = r.String("teacher.model");
        var paid = new UsageLedger();
        var notional = new UsageLedger();
        var retrying = new RetryingChatClient(upstream, new RetryOptions
        {
            MaxRetries = (int)r.Int("teacher.max_retries"), BaseDelay = TimeSpan.FromMilliseconds(500), AttemptTimeout = TimeSpan.FromSeconds(r.Float("teacher.timeout_s")),
        });
        var cached = new ResponseCacheChatClient(new UsageAccountingChatClient(retrying, paid, stage, model), cache, model);
        var prices = r.OptionalFloat("teacher.price_input") is { } pin && r.OptionalFloat("teacher.price_output") is { } pout
            ? PriceTable.Default.With(model, new Price((decimal)pin, (decimal)pout))
            : model == ReferenceTeacher.ModelName ? PriceTable.Default.With(model, new Price(0, 0)) : PriceTable.Default;
        return new Teacher(new UsageAccountingChatClient(cached, notional, stage, model), paid, notional, cached, prices);
    }

    /// <summary>One side of the cost table: training examples, teacher requests and tokens, dollars (null = no price known).</summary>
    public static JsonObject CostRow(int examples, UsageLedger ledger, PriceTable prices)
    {
        var rows = ledger.Report(prices);
        return new JsonObject
        {
            ["examples"] = examples,
            ["teacher_requests"] = rows.Sum(x => x.Requests),
            ["input_tokens"] = rows.Sum(x => x.InputTokens),
            ["output_tokens"] = rows.Sum(x => x.OutputTokens),
            ["cost_usd"] = rows.Count == 0 ? 0 : rows.All(x => x.Dollars is not null) ? JsonValue.Create(Math.Round(rows.Sum(x => x.Dollars!.Value), 6)) : null,
        };
    }

    public static void Write(string path, IEnumerable<JsonObject> records)
    {
        using var w = new JsonlWriter(path);
        foreach (var rec in records) w.Write(rec);
        w.Commit();
    }

    /// <summary>The recipe's student (student.model or the one `models` made), or the trained one: an adapter over it, or a full-weights folder.</summary>
    public static ICodeStudent Student(RunContext ctx, PersdStore store, string? trained = null)
    {
        var baseDir = ModelStage.StudentPath(ctx);
        var weights = Preference.PreferenceRecipe.InferenceWeights(ctx.Recipe);
        if (trained is null) return new CachedCodeStudent(new LocalCodeStudent(baseDir, weights: weights), store);
        return File.Exists(Path.Combine(trained, "adapter_config.json"))
            ? new CachedCodeStudent(new LocalCodeStudent(baseDir, trained, weights: weights), store)
            : new CachedCodeStudent(new LocalCodeStudent(trained, null, baseDir, weights), store);
    }

    /// <summary>What the train stage left: adapter/ (LoRA) or model/ (all weights), or null when the run has not trained.</summary>
    public static string? Trained(RunContext ctx)
        => new[] { "adapter", "model" }.Select(d => Path.Combine(ctx.Dir.Root, d)).FirstOrDefault(d => File.Exists(Path.Combine(d, "adapter_config.json")) || File.Exists(Path.Combine(d, "config.json")));
}

/// <summary>
/// `persd-data`: the PERsD loop on the training tasks → data/persd-attempts.jsonl (every attempt, its
/// feedback, the teacher's rounds and the verdicts), data/persd-train.jsonl (the recipe's variant, TRL
/// prompt/completion) and data/persd-pairs.jsonl (refinement ≻ attempt, TRL prompt/chosen/rejected).
/// Teacher calls that still fail after their retries fail the stage; what was received stays cached.
/// </summary>
public sealed class PersdDataStage(Func<RunContext, IChatClient>? teacherFactory = null, Func<RunContext, PersdStore, ICodeStudent>? studentFactory = null) : IStage
{
    public string Name => "persd-data";

    public async Task<StageResult> RunAsync(RunContext ctx, CancellationToken ct)
    {
        var r = ctx.Recipe;
        var items = PersdRun.TrainTasks(r);
        using var store = new PersdStore(Path.Combine(ctx.Dir.Root, "persd.sqlite"));
        using var cache = new ResponseCache(ctx.Dir.Cache);
        var executor = new CodeExecutor(PersdRun.Sandbox(r), store, (int)r.Int("persd.sandbox_slots"));
        (items, var dropped) = await PersdTasks.VerifyVisibleAsync(items, executor, ct).ConfigureAwait(false);
        if (dropped > 0) ctx.Say($"[{Name}] {dropped} docstring examples dropped from the visible tests (their reference fails them)");
        var teacher = PersdRun.Compose(ctx, PersdRun.Upstream(ctx, items, teacherFactory), cache, Name);
        var student = (studentFactory ?? ((c, s) => PersdRun.Student(c, s)))(ctx, store);
        using var disposeStudent = student as IDisposable;
        var loop = new PersonalizedDistillation(student, teacher.Client, executor, PersdRun.Options(r));
        int tasksDone = 0;
        ctx.Work("attempt, refine, test", 0, items.Count, "tasks");
        var (records, summary) = await loop.RunAsync(items, RunProgress.Of<string>(_ =>
            ctx.Work("attempt, refine, test", Interlocked.Increment(ref tasksDone), items.Count, "tasks")), ct).ConfigureAwait(false);
        if (summary.TeacherFailures > 0)
            throw new StageFailedException(Name, $"{summary.TeacherFailures} teacher calls failed after their retries ({records.First(x => x.TeacherError is not null).TeacherError}); " +
                $"the answers received are kept in {Path.GetFileName(ctx.Dir.Cache)} and every execution in persd.sqlite: run again with --resume");

        var tasks = items.ToDictionary(i => i.Task.TaskId, i => i.Task);
        var attempts = ctx.Dir.DataFile(PersdRun.AttemptsFile);
        PersdRun.Write(attempts, records.Select(x => x.ToJson()));
        var train = PersdDatasets.Sft(records, PersdDatasets.ParseVariant(r.String("persd.variant")), tasks);
        PersdRun.Write(ctx.Dir.DataFile(PersdRun.TrainFile), train);
        var pairs = PersdDatasets.Pairs(records);
        PersdRun.Write(ctx.Dir.DataFile(PersdRun.PairsFile), pairs);
        ctx.Say($"[{Name}] {summary.Tasks} tasks, {summary.Attempts} attempts: {summary.Passed} passed (skipped), {summary.Failed} failed, {summary.Kept} {(r.String("persd.teacher_mode") == "solve" ? "teacher solutions (asked the task alone: persd.teacher_mode solve)" : "refinements")} kept; " +
            $"{train.Count} training records ({r.String("persd.variant")}), {pairs.Count} pairs; {summary.Executions} executions run ({summary.ExecutionCacheHits} cached), " +
            $"{teacher.Cache.Misses} teacher calls asked ({teacher.Cache.Hits} cached)");
        var details = new JsonObject
        {
            ["tasks"] = summary.Tasks, ["attempts"] = summary.Attempts, ["passed"] = summary.Passed, ["failed"] = summary.Failed, ["kept"] = summary.Kept,
            ["train_records"] = train.Count, ["pairs"] = pairs.Count, ["variant"] = r.String("persd.variant"), ["teacher_mode"] = r.String("persd.teacher_mode"),
            ["failed_tasks"] = records.Where(x => x.AttemptStatus != "passed").Select(x => x.TaskId).Distinct().Count(),
            ["executions"] = summary.Executions, ["execution_cache_hits"] = summary.ExecutionCacheHits, ["sandbox_seconds"] = Math.Round(summary.SandboxSeconds, 3),
            ["student_generations"] = summary.StudentGenerations, ["student_cache_hits"] = summary.StudentCacheHits,
            ["teacher_cache_hits"] = teacher.Cache.Hits, ["teacher_cache_misses"] = teacher.Cache.Misses,
            ["cost"] = PersdRun.CostRow(summary.Kept, teacher.Notional, teacher.Prices),
            ["visible_examples_dropped"] = dropped,
        };
        return new StageResult([attempts, ctx.Dir.DataFile(PersdRun.TrainFile), ctx.Dir.DataFile(PersdRun.PairsFile)], teacher.Paid.Report(teacher.Prices), details);
    }
}

/// <summary>
/// `seqkd-data` (persd.seqkd_baseline): the paper's standard-distillation baseline on the same training
/// tasks — the teacher answers every task; passing answers → data/seqkd-train.jsonl — and the cost table
/// beside PERsD's (examples, teacher requests, tokens, dollars), written to eval/persd-cost.json.
/// </summary>
public sealed class SeqKdBaselineStage(Func<RunContext, IChatClient>? teacherFactory = null) : IStage
{
    public string Name => "seqkd-data";

    public async Task<StageResult> RunAsync(RunContext ctx, CancellationToken ct)
    {
        var r = ctx.Recipe;
        var table = new JsonObject();
        var persdMarker = ctx.Dir.Marker("persd-data");
        if (File.Exists(persdMarker) && JsonNode.Parse(File.ReadAllText(persdMarker))?["details"]?["cost"] is JsonObject persd) table["persd"] = persd.DeepClone();
        var costFile = Path.Combine(ctx.Dir.Eval, "persd-cost.json");
        if (r["persd.seqkd_baseline"] is not true)
        {
            // no baseline asked for: the table holds PERsD's side only, and the stage writes no training data
            RunDirectory.WriteAtomic(costFile, table.ToJsonString(new() { WriteIndented = true }));
            ctx.Say($"[{Name}] persd.seqkd_baseline is off: cost table with PERsD's side only → {Path.GetRelativePath(ctx.Dir.Root, costFile)}");
            return new StageResult([costFile], [], new JsonObject { ["cost"] = table.DeepClone() });
        }
        var items = PersdRun.TrainTasks(r);
        using var store = new PersdStore(Path.Combine(ctx.Dir.Root, "persd.sqlite"));
        using var cache = new ResponseCache(ctx.Dir.Cache);
        var executor = new CodeExecutor(PersdRun.Sandbox(r), store, (int)r.Int("persd.sandbox_slots"));
        var teacher = PersdRun.Compose(ctx, PersdRun.Upstream(ctx, items, teacherFactory), cache, Name);
        var result = await SeqKdBaseline.RunAsync(items, teacher.Client, executor, PersdRun.Options(r), ct).ConfigureAwait(false);
        if (result.Failures > 0)
            throw new StageFailedException(Name, $"{result.Failures} teacher calls failed after their retries; the answers received are cached: run again with --resume");
        var output = ctx.Dir.DataFile(PersdRun.SeqKdFile);
        PersdRun.Write(output, result.Records);
        var seqkd = PersdRun.CostRow(result.Passed, teacher.Notional, teacher.Prices);
        seqkd["answered"] = result.Answered;
        table["seqkd"] = seqkd;
        RunDirectory.WriteAtomic(costFile, table.ToJsonString(new() { WriteIndented = true }));
        ctx.Say($"[{Name}] SeqKD: {result.Passed}/{result.Tasks} teacher answers pass → {Path.GetRelativePath(ctx.Dir.Root, output)}; cost table → {Path.GetRelativePath(ctx.Dir.Root, costFile)}");
        return new StageResult([output, costFile], teacher.Paid.Report(teacher.Prices), new JsonObject { ["cost"] = table.DeepClone() });
    }
}

/// <summary>
/// `persd-eval`: multi-step inference on the scoring tasks (never the training ones) with the trained
/// student — visible-test feedback, up to persd.repair_rounds repairs — scored on hidden tests only;
/// pass@1 per round → eval/persd.json.
/// </summary>
public sealed class PersdEvalStage(Func<RunContext, string?> adapter, Func<RunContext, PersdStore, string?, ICodeStudent>? studentFactory = null) : IStage
{
    public string Name => "persd-eval";

    public async Task<StageResult> RunAsync(RunContext ctx, CancellationToken ct)
    {
        var r = ctx.Recipe;
        var items = PersdRun.EvalTasks(r);
        using var store = new PersdStore(Path.Combine(ctx.Dir.Root, "persd.sqlite"));
        var executor = new CodeExecutor(PersdRun.Sandbox(r), store, (int)r.Int("persd.sandbox_slots"));
        (items, _) = await PersdTasks.VerifyVisibleAsync(items, executor, ct).ConfigureAwait(false);
        var trained = adapter(ctx);
        var student = (studentFactory ?? ((c, s, a) => PersdRun.Student(c, s, a)))(ctx, store, trained);
        using var disposeStudent = student as IDisposable;
        var report = await RepairInference.RunAsync(items, student, executor, (int)r.Int("persd.eval_samples"), (float)r.Float("persd.eval_temperature"),
            (int)r.Int("persd.max_new_tokens"), (int)r.Int("persd.repair_rounds"), (ulong)r.Int("seed"), null, ct).ConfigureAwait(false);
        var json = report.ToJson();
        json["eval_source"] = r.String("persd.eval_source");
        json["student"] = Path.GetRelativePath(ctx.Dir.Root, ModelStage.StudentPath(ctx));
        json["adapter"] = trained is null ? null : Path.GetRelativePath(ctx.Dir.Root, trained);
        var output = Path.Combine(ctx.Dir.Eval, "persd.json");
        RunDirectory.WriteAtomic(output, json.ToJsonString(new() { WriteIndented = true }));
        ctx.Say($"[{Name}] {r.String("persd.eval_source")}: pass@1 by repair round {string.Join(" → ", report.PassAt1ByRound.Select(p => p.ToString("P1", System.Globalization.CultureInfo.InvariantCulture)))} (hidden tests)");
        return new StageResult([output], [], json.DeepClone().AsObject());
    }
}
