using System.Globalization;
using System.Text.Json.Nodes;
using Distill.Chat;
using Distill.Chat.Accounting;
using Distill.Chat.Caching;
using Distill.Data.Jsonl;
using Distill.Evaluation.Code;
using Distill.Evaluation.Judge;
using Distill.Evaluation.Sandbox;
using Distill.Evaluation.Scoring;
using Distill.Methods.Preference;
using Distill.Methods.Runs;
using Distill.Methods.Scoring;
using Distill.Models;
using Distill.Models.Lora;
using Microsoft.Extensions.AI;

namespace Distill.Methods.Eval;

/// <summary>
/// `eval` (eval.enabled): the trained student against the base student it started from, and the teacher, on held-out
/// problems — as the papers evaluate:
/// <list type="bullet">
/// <item>code (problems with tests): pass@1 and pass@k (k ≤ eval.samples; Chen et al. 2021's unbiased estimator) on the
/// hidden tests in the sandbox, as DPO-KD's HumanEval table;</item>
/// <item>prose (summaries): ROUGE-1/2/L F1 against the reference and the answers' word count, as PLaD Table 2;</item>
/// <item>the pairwise judge (eval.judge; DPO-KD Appendix B prompt, both orders): fine-tuned vs base student (DPO-KD
/// Fig. 3), student vs reference and teacher vs student (PLaD's WR and T-S WR); the same two by a reward model
/// (eval.reward_model) as PLaD does.</item>
/// </list>
/// Means carry 95% bootstrap intervals over problems; win rates their Wilson/bootstrap intervals (WinRate.cs). Writes
/// eval/metrics.json and eval/answers.jsonl. Student answers are seeded and the teacher's and judge's calls go through
/// the run's response cache, so a rerun (or --resume after a kill) gives the same file without paying twice.
/// </summary>
public sealed class EvalStage(Func<RunContext, IChatClient>? teacherFactory = null) : IStage
{
    public const string MetricsFile = "metrics.json";
    public string Name => "eval";

    public async Task<StageResult> RunAsync(RunContext ctx, CancellationToken ct)
    {
        var r = ctx.Recipe;
        var problems = EvalSet.Load(r);
        int samples = (int)r.Int("eval.samples");
        var settings = new SamplingSettings(N: samples, Temperature: (float)r.Float("eval.temperature"), MaxNewTokens: (int)r.Int("eval.max_new_tokens"), Seed: (ulong)r.Int("eval.seed"));
        if (samples > 1 && settings.Temperature == 0) throw new StageFailedException(Name, "eval.samples > 1 needs eval.temperature > 0 (greedy answers would all be the same)");
        settings.Validate();
        var prompts = problems.Select(p => p.Prompt).ToList();
        var studentDir = ModelStage.StudentPath(ctx);
        var tokenizer = Distill.Text.TokenizerLoader.Load(studentDir);

        var answers = new Dictionary<string, List<string>[]>();
        using (var model = ModelIO.Load(studentDir))
            answers["base"] = Sample(ctx, "base student", model, tokenizer, prompts, settings, ct);
        using (var model = Trained(ctx, studentDir))
            answers["trained"] = Sample(ctx, "trained student", model, tokenizer, prompts, settings, ct);

        var ledger = new UsageLedger();
        using var cache = new ResponseCache(ctx.Dir.Cache);
        bool hasTeacher = r.String("teacher.model").Length > 0 || r.String("teacher.init").Length > 0;
        if ((bool)r["eval.teacher"]! && hasTeacher)
        {
            using var teacher = (teacherFactory ?? TeacherGenerationStage.DefaultTeacher)(ctx);
            var client = TeacherGenerationStage.Wrap(ctx, teacher, ledger, cache, Name);
            var options = new ChatOptions { MaxOutputTokens = (int)r.Int("teacher.max_tokens"), Temperature = (float)r.Float("teacher.temperature") };
            var t = new List<string>[problems.Count];
            for (int i = 0; i < problems.Count; i++)
            {
                var response = await client.GetResponseAsync([new ChatMessage(ChatRole.User, problems[i].Prompt)], options, ct).ConfigureAwait(false);
                t[i] = [response.Text];
            }
            answers["teacher"] = t;
            ctx.Say($"[{Name}] teacher: {problems.Count} answers ({client.Hits} from the cache)");
        }

        var metrics = new JsonObject
        {
            ["source"] = r.String("eval.source"),
            ["problems"] = problems.Count,
            ["samples"] = samples,
            ["temperature"] = settings.Temperature,
            ["student"] = Path.GetRelativePath(ctx.Dir.Root, studentDir),
        };
        var models = new JsonObject();
        foreach (var (name, a) in answers) models[name] = await ScoreAsync(ctx, name, problems, a, ct).ConfigureAwait(false);
        metrics["models"] = models;

        var winRates = new JsonObject();
        var judgeRef = r.String("eval.judge");
        if (judgeRef != "none")
        {
            var (judge, label) = Judge(ctx, judgeRef, problems, cache, ledger);
            metrics["judge"] = label;
            var pj = new PairwiseJudge(judge, prompt: JudgePromptTemplate.Resolve(r.String("eval.judge_prompt")));
            winRates["trained_vs_base"] = await JudgeAsync(pj, problems, answers["trained"], answers["base"], ct).ConfigureAwait(false);
            winRates["trained_vs_reference"] = await JudgeAsync(pj, problems, answers["trained"], null, ct).ConfigureAwait(false);
            if (answers.TryGetValue("teacher", out var ta)) winRates["teacher_vs_trained"] = await JudgeAsync(pj, problems, ta, answers["trained"], ct).ConfigureAwait(false);
            if (judge is not ReferenceAgreementJudge) judge.Dispose();
        }
        if (r.String("eval.reward_model") is { Length: > 0 } rm)
        {
            if (!Path.IsPathRooted(rm) && r.SourcePath is { } rf) rm = Path.Combine(Path.GetDirectoryName(rf)!, rm);
            using var reward = LocalRewardModel.Load(rm);
            var scorer = new RewardModelScorer(reward);
            metrics["reward_model"] = Path.GetFullPath(rm);
            winRates["rm_trained_vs_reference"] = Summary(await PladMetrics.ByScorerAsync(scorer, problems.Select((p, i) => new ComparisonItem(p.Prompt, answers["trained"][i][0], p.Reference)), ct).ConfigureAwait(false));
            winRates["rm_base_vs_reference"] = Summary(await PladMetrics.ByScorerAsync(scorer, problems.Select((p, i) => new ComparisonItem(p.Prompt, answers["base"][i][0], p.Reference)), ct).ConfigureAwait(false));
            if (answers.TryGetValue("teacher", out var ta))
                winRates["rm_teacher_vs_trained"] = Summary(await PladMetrics.ByScorerAsync(scorer, problems.Select((p, i) => new ComparisonItem(p.Prompt, ta[i][0], answers["trained"][i][0])), ct).ConfigureAwait(false));
        }
        metrics["win_rates"] = winRates;

        Directory.CreateDirectory(ctx.Dir.Eval);
        var answersFile = Path.Combine(ctx.Dir.Eval, "answers.jsonl");
        using (var w = new JsonlWriter(answersFile))
        {
            for (int i = 0; i < problems.Count; i++)
            {
                var row = new JsonObject { ["id"] = problems[i].Id, ["prompt"] = problems[i].Prompt, ["reference"] = problems[i].Reference };
                foreach (var (name, a) in answers) row[name] = new JsonArray(a[i].Select(x => (JsonNode)x).ToArray());
                w.Write(row);
            }
            w.Commit();
        }
        var output = Path.Combine(ctx.Dir.Eval, MetricsFile);
        RunDirectory.WriteAtomic(output, metrics.ToJsonString(new() { WriteIndented = true }));
        foreach (var line in Lines(metrics)) ctx.Say($"[{Name}] {line}");
        return new StageResult([output, answersFile], ledger.Report(PriceTable.Default), (JsonObject)metrics.DeepClone());
    }

    /// <summary>The student the run trained: the base with the run's adapter/ (NF4 under it for QLoRA), or the fully trained model/.</summary>
    static CausalLM Trained(RunContext ctx, string studentDir)
    {
        var adapter = Path.Combine(ctx.Dir.Root, "adapter");
        var full = Path.Combine(ctx.Dir.Root, "model");
        if (File.Exists(Path.Combine(adapter, "adapter_config.json")))
        {
            var model = ModelIO.Load(studentDir);
            try
            {
                if (PreferenceRecipe.QLora(ctx.Recipe)) LoraModel.QuantizeBase(model);
                LoraModel.Load(model, adapter);
                return model;
            }
            catch { model.Dispose(); throw; }
        }
        if (File.Exists(Path.Combine(full, "config.json"))) return ModelIO.Load(full);
        throw new StageFailedException("eval", $"no trained student in {ctx.Dir.Root} (adapter/ or model/): the training stage has not finished");
    }

    static List<string>[] Sample(RunContext ctx, string who, CausalLM model, Distill.Text.Tokenizer tokenizer, List<string> prompts, SamplingSettings settings, CancellationToken ct)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var sampled = LocalSampler.Sample(model, tokenizer, prompts, settings, iteration: 0, ct: ct);
        var byPrompt = Enumerable.Range(0, prompts.Count).Select(_ => new List<string>()).ToArray();
        foreach (var s in sampled) byPrompt[s.PromptIndex].Add(s.Text);
        ctx.Say(string.Create(CultureInfo.InvariantCulture, $"[eval] {who}: {sampled.Count} answers in {clock.Elapsed.TotalSeconds:F1} s"));
        return byPrompt;
    }

    /// <summary>One model's scores: pass@k on the code problems, ROUGE and words on the others.</summary>
    static async Task<JsonObject> ScoreAsync(RunContext ctx, string name, List<EvalProblem> problems, List<string>[] answers, CancellationToken ct)
    {
        var r = ctx.Recipe;
        var o = new JsonObject();
        var code = problems.Select((p, i) => (p, i)).Where(x => x.p.Task is not null).ToList();
        if (code.Count > 0)
        {
            var tasks = code.Select(x => x.p.Task!).ToList();
            var programs = code.SelectMany(x => answers[x.i].Select(a => new CodeSample(x.p.Task!.TaskId, CodeExtraction.Program(x.p.Task!, a)))).ToList();
            var report = await CodeEvaluator.EvaluateAsync(tasks, programs, new SandboxOptions { TimeoutSeconds = r.Float("eval.sandbox_timeout_s") }, 2, ct: ct).ConfigureAwait(false);
            int n = (int)r.Int("eval.samples");
            foreach (var k in new[] { 1, 2, 5, 10, 20, 50, 100 }.Where(k => k <= n))
                o[$"pass@{k}"] = Json(Bootstrap.Mean(report.Tasks.Select(t => PassAtK.Estimate(t.N, t.C, k)).ToList()));
        }
        var prose = problems.Select((p, i) => (p, i)).Where(x => x.p.Task is null).ToList();
        if (prose.Count > 0)
        {
            var rouge = new Distill.Evaluation.Rouge.RougeScorer(useStemmer: true);
            var scores = prose.Select(x => rouge.Score(x.p.Reference, answers[x.i][0])).ToList();
            o["rouge1"] = Json(Bootstrap.Mean(scores.Select(s => s.Rouge1.FMeasure).ToList()));
            o["rouge2"] = Json(Bootstrap.Mean(scores.Select(s => s.Rouge2.FMeasure).ToList()));
            o["rougeL"] = Json(Bootstrap.Mean(scores.Select(s => s.RougeL.FMeasure).ToList()));
            o["words"] = Json(Bootstrap.Mean(prose.Select(x => (double)CountWords(answers[x.i][0])).ToList()));
        }
        return o;
    }

    static int CountWords(string s) => s.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Length;

    static (IChatClient Client, string Label) Judge(RunContext ctx, string judgeRef, List<EvalProblem> problems, ResponseCache cache, UsageLedger ledger)
    {
        var r = ctx.Recipe;
        var template = JudgePromptTemplate.Resolve(r.String("eval.judge_prompt"));
        if (judgeRef == "rule")
        {
            var byPrompt = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var p in problems) byPrompt.TryAdd(p.Prompt, p.Reference);
            return (new ReferenceAgreementJudge(q => byPrompt.GetValueOrDefault(q), template), ReferenceAgreementJudge.Label);
        }
        var reference = ModelReference.Parse(ModelStage.IsApiModel(judgeRef) ? judgeRef : ModelStage.Resolve(r, judgeRef));
        var env = r.String("teacher.api_key_env");
        var inner = ChatClientFactory.Create(reference, env.Length == 0 ? null : env, TimeSpan.FromSeconds(r.Float("teacher.timeout_s")));
        var key = "judge:" + judgeRef;
        return (new ResponseCacheChatClient(new UsageAccountingChatClient(inner, ledger, "eval-judge", judgeRef), cache, key), judgeRef);
    }

    /// <summary>Win rate of <paramref name="a"/> over <paramref name="b"/> (null = the references), first answer of each, both orders.</summary>
    static async Task<JsonObject> JudgeAsync(PairwiseJudge judge, List<EvalProblem> problems, List<string>[] a, List<string>[]? b, CancellationToken ct)
    {
        var items = problems.Select((p, i) => new ComparisonItem(p.Prompt, a[i][0], b is null ? p.Reference : b[i][0]));
        var (summary, _) = await PladMetrics.ByJudgeAsync(judge, items, ct).ConfigureAwait(false);
        return Summary(summary);
    }

    static JsonObject Summary(WinRateSummary s) => new()
    {
        ["wins"] = s.Wins, ["ties"] = s.Ties, ["losses"] = s.Losses, ["errors"] = s.Errors,
        ["win_rate"] = Json(s.WinRate), ["tie_rate"] = Json(s.TieRate), ["loss_rate"] = Json(s.LossRate), ["adjusted_win_rate"] = Json(s.AdjustedWinRate),
    };

    static JsonObject Json(Interval i) => new() { ["value"] = Round(i.Value), ["low"] = Round(i.Low), ["high"] = Round(i.High) };
    static JsonObject Json(MeanInterval m) => new() { ["value"] = Round(m.Mean), ["low"] = Round(m.Low), ["high"] = Round(m.High), ["n"] = m.N };
    static double Round(double x) => double.IsFinite(x) ? Math.Round(x, 6) : double.NaN;

    /// <summary>The console summary: one line per model and per win rate.</summary>
    static IEnumerable<string> Lines(JsonObject metrics)
    {
        static string F(JsonNode? n) => n is null ? "–" : string.Create(CultureInfo.InvariantCulture, $"{(double)n["value"]!:F3} [{(double)n["low"]!:F3}, {(double)n["high"]!:F3}]");
        foreach (var (name, m) in metrics["models"]!.AsObject())
            yield return $"{name}: " + string.Join("  ", m!.AsObject().Where(kv => kv.Key != "words").Select(kv => $"{kv.Key} {F(kv.Value)}"))
                + (m["words"] is { } w ? string.Create(CultureInfo.InvariantCulture, $"  words {(double)w["value"]!:F1}") : "");
        foreach (var (name, w) in metrics["win_rates"]!.AsObject())
            yield return $"{name}: win rate {F(w!["win_rate"])} (W/T/L {w["wins"]}/{w["ties"]}/{w["losses"]}, errors {w["errors"]})";
    }
}
