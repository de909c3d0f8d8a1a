using System.Text.Json.Nodes;
using Distill.Chat;
using Distill.Chat.Accounting;
using Distill.Chat.Caching;
using Distill.Chat.Resilience;
using Distill.Data.Jsonl;
using Microsoft.Extensions.AI;

namespace Distill.Methods.Runs;

/// <summary>
/// `teacher-gen` (SeqKD, Kim &amp; Rush 2016): each prompt of data/prompts.jsonl → the teacher's
/// answer, into data/teacher-gen.jsonl (prompt, completion = the answer, plus the record's other
/// fields). Calls go cache → usage ledger → retries → the teacher, so an answer is paid once: a
/// repeated or resumed run reads it from cache.sqlite. When some calls still fail after their
/// retries, the stage writes no output, keeps every answer received (in the cache), reports how
/// many failed and why, and `--resume` asks only for the missing ones.
/// </summary>
public sealed class TeacherGenerationStage(Func<RunContext, IChatClient>? teacherFactory = null) : IStage
{
    public const string Output = "teacher-gen.jsonl";
    public string Name => "teacher-gen";

    /// <summary>The teacher from the recipe, through Distill.Chat's factory (keys from the environment only).</summary>
    public static IChatClient DefaultTeacher(RunContext ctx)
    {
        var r = ctx.Recipe;
        var env = r.String("teacher.api_key_env");
        return ChatClientFactory.Create(ModelReference.Parse(ModelStage.TeacherReference(ctx)), env.Length == 0 ? null : env, TimeSpan.FromSeconds(r.Float("teacher.timeout_s")));
    }

    /// <summary>The cache and ledger key of the run's teacher: the recipe's teacher.model, or init:PRESET for a teacher the run made.</summary>
    public static string CacheKey(Recipe r) => r.String("teacher.init") is { Length: > 0 } preset ? $"init:{preset}" : r.String("teacher.model");

    /// <summary>The teacher as every stage asks it: the run's response cache → usage ledger (under <paramref name="stage"/>) → retries (teacher.max_retries, teacher.timeout_s).</summary>
    public static ResponseCacheChatClient Wrap(RunContext ctx, IChatClient teacher, UsageLedger ledger, ResponseCache cache, string stage)
    {
        var r = ctx.Recipe;
        var retrying = new RetryingChatClient(teacher, new RetryOptions
        {
            MaxRetries = (int)r.Int("teacher.max_retries"),
            BaseDelay = TimeSpan.FromMilliseconds(500),
            AttemptTimeout = TimeSpan.FromSeconds(r.Float("teacher.timeout_s")),
        });
        var model = CacheKey(r);
        return new ResponseCacheChatClient(new UsageAccountingChatClient(retrying, ledger, stage, model), cache, model);
    }

    public async Task<StageResult> RunAsync(RunContext ctx, CancellationToken ct)
    {
        var r = ctx.Recipe;
        var input = ctx.Dir.DataFile(DataStage.Output);
        var records = JsonlReader.Read(input).Select(x => x.Json).ToList();
        var model = CacheKey(r);
        var ledger = new UsageLedger();
        using var cache = new ResponseCache(ctx.Dir.Cache);
        var client = Wrap(ctx, (teacherFactory ?? DefaultTeacher)(ctx), ledger, cache, Name);
        var options = new ChatOptions { MaxOutputTokens = (int)r.Int("teacher.max_tokens"), Temperature = (float)r.Float("teacher.temperature") };
        var system = r.String("teacher.system_prompt");

        var answers = new string?[records.Count];
        var finish = new string?[records.Count];   // "length" = cut at teacher.max_tokens (preference pairs drop those)
        var failures = new (int Index, string Reason)[records.Count];
        int failed = 0, done = 0;
        long outputTokens = 0;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        void Report()
        {
            int d = Interlocked.Increment(ref done);
            long tokens = Interlocked.Read(ref outputTokens);
            ctx.Work("teacher", d, records.Count, "calls", tokens > 0 ? tokens / Math.Max(1e-3, clock.Elapsed.TotalSeconds) : null);
        }
        ctx.Work("teacher", 0, records.Count, "calls");
        await Parallel.ForEachAsync(Enumerable.Range(0, records.Count), new ParallelOptions { MaxDegreeOfParallelism = (int)r.Int("teacher.concurrency"), CancellationToken = ct },
            async (i, token) =>
            {
                var messages = new List<ChatMessage>();
                if (system.Length > 0) messages.Add(new ChatMessage(ChatRole.System, system));
                messages.Add(new ChatMessage(ChatRole.User, (string)records[i]["prompt"]!));
                try
                {
                    var response = await client.GetResponseAsync(messages, options, token).ConfigureAwait(false);
                    answers[i] = response.Text;
                    finish[i] = response.FinishReason?.Value;
                    Interlocked.Add(ref outputTokens, response.Usage?.OutputTokenCount ?? 0);
                }
                catch (Exception e) when (e is not OperationCanceledException || !token.IsCancellationRequested)
                {
                    failures[i] = (i, Secrets.Redact(Reason(e), ctx.SecretValues));
                    Interlocked.Increment(ref failed);
                }
                Report();
            }).ConfigureAwait(false);

        var prices = r.OptionalFloat("teacher.price_input") is { } pin && r.OptionalFloat("teacher.price_output") is { } pout
            ? PriceTable.Default.With(model, new Price((decimal)pin, (decimal)pout)) : PriceTable.Default;
        var usage = ledger.Report(prices);
        ctx.Say($"[{Name}] {records.Count - failed}/{records.Count} answers ({client.Hits} from the cache, {client.Misses} asked)");
        if (failed > 0)
        {
            var why = failures.Where(f => f.Reason is not null).GroupBy(f => f.Reason).OrderByDescending(g => g.Count())
                .Select(g => $"{g.Key} ×{g.Count()}").ToList();
            var report = new JsonObject
            {
                ["stage"] = Name, ["calls"] = records.Count, ["failed"] = failed, ["answered"] = records.Count - failed,
                ["reasons"] = new JsonArray(why.Select(w => (JsonNode)w).ToArray()),
                ["failed_indices"] = new JsonArray(failures.Where(f => f.Reason is not null).Select(f => (JsonNode)f.Index).ToArray()),
            };
            RunDirectory.WriteAtomic(Path.Combine(ctx.Dir.Stages, Name + ".failed.json"), Secrets.Redact(report.ToJsonString(new() { WriteIndented = true }), ctx.SecretValues));
            throw new StageFailedException(Name, $"{failed} of {records.Count} teacher calls failed ({string.Join("; ", why)}). " +
                $"The {records.Count - failed} answers received are kept in {Path.GetFileName(ctx.Dir.Cache)}; run again with --resume to ask only for the missing ones.");
        }
        File.Delete(Path.Combine(ctx.Dir.Stages, Name + ".failed.json"));
        var output = ctx.Dir.DataFile(Output);
        using (var w = new JsonlWriter(output))
        {
            for (int i = 0; i < records.Count; i++)
            {
                var rec = (JsonObject)records[i].DeepClone();
                if (rec["completion"] is { } reference && !rec.ContainsKey("reference_completion")) rec["reference_completion"] = reference.DeepClone();
                rec["completion"] = answers[i];
                rec["teacher"] = model;
                if (finish[i] is { } f) rec["finish_reason"] = f;
                w.Write(rec);
            }
            w.Commit();
        }
        return new StageResult([output], usage, new JsonObject { ["cache_hits"] = client.Hits, ["cache_misses"] = client.Misses });
    }

    /// <summary>A short, key-free reason: the HTTP status, a time-out, or the kind of connection failure.</summary>
    static string Reason(Exception e)
    {
        if (RetryingChatClient.StatusOf(e) is { } status) return $"HTTP {status}";
        if (e is Polly.Timeout.TimeoutRejectedException or TimeoutException or TaskCanceledException) return "time-out";
        if (e is HttpRequestException or IOException || e.InnerException is HttpRequestException or IOException) return "connection failed";
        var first = e.Message.Split('\n')[0];
        return $"{e.GetType().Name}: {(first.Length > 200 ? first[..200] : first)}";
    }
}
