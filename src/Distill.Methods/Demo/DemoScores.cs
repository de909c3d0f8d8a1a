using System.Globalization;
using System.Text.Json.Nodes;
using Distill.Data.BuiltInTask;
using Distill.Evaluation.Code;
using Distill.Evaluation.Judge;
using Distill.Evaluation.Rouge;
using Distill.Evaluation.Scoring;
using Distill.Methods.Scoring;
using Distill.Report;

namespace Distill.Methods.Demo;

/// <summary>
/// From the models' kept test outputs to the results table: pass@1 and pass@k (unbiased estimator per problem, then the
/// mean), ROUGE-1/2/L F1 and word count of the summaries, win rates (judge: against the student start and the teacher,
/// both orders; reward model: against the reference summary), each with a seeded 95% bootstrap interval over test
/// problems; the share of the teacher–student gap closed; a verdict from the paired bootstrap of pass@1 against the student.
/// A win counts 1, a tie ½, a loss 0 (so 0.5 = no better, no worse).
/// </summary>
public static class DemoScores
{
    public static DemoResults Compute(DemoResults results, DemoPreset p, int seed, DemoPaths paths, IReadOnlyList<Problem> test,
        IReadOnlyDictionary<string, ModelOutputs> outputs, IReadOnlyDictionary<string, JsonObject> usage, string? rewardModel,
        Microsoft.Extensions.AI.IChatClient? llmJudge = null)
    {
        var sumPrompts = test.Select(t => (string)TaskViews.Record(t, TaskView.Sum)["prompt"]!).ToList();
        var references = test.Select(t => t.Description).ToList();
        var judge = new PairwiseJudge(llmJudge ?? RuleJudge(sumPrompts, references));
        var rouge = new RougeScorer(useStemmer: true);
        using var rm = rewardModel is null ? null : LocalRewardModel.Load(rewardModel, maxLength: p.MaxSeqLen * 2, batchSize: 1);
        double[]? referenceRewards = rm?.Rewards(sumPrompts.Zip(references).ToList());
        int B = p.BootstrapResamples;

        outputs.TryGetValue("student", out var student);
        outputs.TryGetValue("teacher", out var teacher);
        var pass1 = outputs.ToDictionary(o => o.Key, o => o.Value.Gen.Select(g => PassAtK.Estimate(g.Passed.Count, g.C, 1)).ToList());
        double? t1 = teacher is null ? null : pass1["teacher"].Average(), s1 = student is null ? null : pass1["student"].Average();

        var rougeL = outputs.Where(o => o.Value.Summaries.Count == references.Count)
            .ToDictionary(o => o.Key, o => o.Value.Summaries.Select((x, i) => rouge.Score(references[i], x).RougeL.FMeasure).ToList());
        var models = new List<ModelResult>();
        var order = new[] { "teacher", "student" }.Concat(DemoMethods.All.Select(m => m.Name)).Concat(p.PladFractions.Select(f => "plad-rank-f" + f.ToString("0.##", CultureInfo.InvariantCulture)));
        foreach (var name in order)
        {
            if (!outputs.TryGetValue(name, out var o)) continue;
            var method = DemoMethods.All.FirstOrDefault(m => m.Name == name || name.StartsWith(m.Name + "-f", StringComparison.Ordinal));
            var scores = o.Summaries.Select((s, i) => rouge.Score(references[i], s)).ToList();
            var passK = new Dictionary<string, Estimate>();
            foreach (var k in p.PassKs.Where(k => k > 1 && k <= p.EvalSamples))
                passK[k.ToString(CultureInfo.InvariantCulture)] = Bootstrap.Mean(o.Gen.Select(g => PassAtK.Estimate(g.Passed.Count, g.C, k)).ToList(), B, seed + 11 * k);
            Estimate? JudgeAgainst(ModelOutputs? other) => other is null ? null
                : Bootstrap.Mean(o.Summaries.Select((s, i) => Points(judge.JudgeAsync(sumPrompts[i], s, other.Summaries[i]).GetAwaiter().GetResult().Outcome)).ToList(), B, seed + 3);
            Estimate? reward = null;
            if (rm is not null)
            {
                var r = rm.Rewards(sumPrompts.Zip(o.Summaries).ToList());
                reward = Bootstrap.Mean(r.Select((x, i) => Points(PladMetrics.Compare(x, referenceRewards![i]))).ToList(), B, seed + 5);
            }
            var u = usage.TryGetValue(name, out var found) ? found : null;
            long inTok = Long(u?["input_tokens"]), outTok = Long(u?["output_tokens"]);
            bool api = method?.UsesApiTeacher == true;
            double m1 = pass1[name].Average();
            string? verdict = null;
            if (student is not null && name != "student" && name != "teacher")
                verdict = Verdict(pass1[name], pass1["student"], teacher is null ? null : pass1["teacher"],
                    scores.Select(x => x.RougeL.FMeasure).ToList(), rougeL.GetValueOrDefault("student"), B, seed);
            if (File.Exists(DemoPipeline.Untrained(paths, name))) verdict = "not trained: " + (string?)JsonNode.Parse(File.ReadAllText(DemoPipeline.Untrained(paths, name)))!["reason"];
            var persd = u?["persd"] as JsonObject;
            if (persd is not null && verdict is not null) verdict += "; " + PersdLabel(persd);
            models.Add(new ModelResult
            {
                Name = name,
                Family = name is "teacher" or "student" ? "reference" : method?.Family ?? "preference",
                Parameters = o.Parameters, TrainableParameters = o.TrainableParameters,
                Pass1 = Bootstrap.Mean(pass1[name], B, seed + 1),
                PassK = passK,
                Rouge1 = Bootstrap.Mean(scores.Select(s => s.Rouge1.FMeasure).ToList(), B, seed + 2),
                Rouge2 = Bootstrap.Mean(scores.Select(s => s.Rouge2.FMeasure).ToList(), B, seed + 2),
                RougeL = Bootstrap.Mean(scores.Select(s => s.RougeL.FMeasure).ToList(), B, seed + 2),
                MeanWords = o.Summaries.Count == 0 ? null : Math.Round(o.Summaries.Average(s => (double)rouge.Tokenize(s).Count), 3),
                RewardWinRate = reward,
                JudgeWinRate = JudgeAgainst(student),
                WinRateVsTeacher = JudgeAgainst(teacher),
                GapClosed = t1 is { } t && s1 is { } s && Math.Abs(t - s) > 1e-12 && name is not ("teacher" or "student") ? (m1 - s) / (t - s) : null,
                // the teacher's answers the student trains on: PERsD keeps only those that pass (its requests — one per failed
                // task — are in the tokens and cost); every other API method trains on every answer it asked for
                TeacherExamples = method is null || !(method.UsesApiTeacher || method.UsesLocalTeacher) ? 0
                    : persd is not null ? Long(persd["kept"]) : Long(u?[api ? "requests" : "records"]),
                TeacherTokens = api ? inTok + outTok : 0,
                TeacherCostUsd = api ? Math.Round((inTok * DemoTeacherServer.PriceInput + outTok * DemoTeacherServer.PriceOutput) / 1e6, 8) : method?.UsesLocalTeacher == true ? null : 0,
                TrainSeconds = TrainSeconds(name, paths),
                LossCurve = DemoCurves.Loss(name, paths),
                RewardMargins = method?.Family == "preference" ? DemoCurves.Margins(name, paths) : [],
                Verdict = verdict,
            });
        }

        var notes = new List<string>
        {
            llmJudge is null ? "judge: rule-based (no language model): it answers [[A]]/[[B]]/[[C]] from each summary's mean ROUGE-1/2/L F1 agreement with the reference (tie under 0.02), through PairwiseJudge with the DPO-KD prompt in both orders"
                : $"judge: {results.Judge} (an LLM), through PairwiseJudge with the DPO-KD prompt in both orders; its answers are cached in judge-cache.sqlite",
            "win rates count a win 1, a tie ½, a loss 0; intervals: 95% percentile bootstrap over test problems, seeded",
            $"teacher cost: notional prices ${DemoTeacherServer.PriceInput}/M input and ${DemoTeacherServer.PriceOutput}/M output tokens; only requests that reached the served teacher count (cache hits are free); token-KD reads a local teacher's distributions (no API tokens; examples = training records); PERsD's examples are the teacher answers it kept (those that passed the tests), its tokens and cost those of every request (one per failed task)",
        };
        if (t1 is { } tt && s1 is { } ss) notes.Insert(0, string.Create(CultureInfo.InvariantCulture, $"teacher pass@1 {100 * tt:0.0} vs student {100 * ss:0.0}: gap {100 * (tt - ss):+0.0;-0.0;0.0} points on {test.Count} test problems"));
        if (rewardModel is null) notes.Add("reward model: not trained (reward win rates absent)");
        var fractions = new List<Point>();
        if (student is not null)
        {
            foreach (var f in p.PladFractions.Append(1.0).Order())
            {
                var name = f == 1.0 ? "plad-rank" : "plad-rank-f" + f.ToString("0.##", CultureInfo.InvariantCulture);
                if (models.FirstOrDefault(m => m.Name == name)?.JudgeWinRate is { } w) fractions.Add(new Point(f, w.Mean));
            }
        }
        return results with { Models = models, Notes = notes, PladFraction = fractions, TestProblems = test.Count };
    }

    /// <summary>
    /// The method's verdict against the student start, from paired bootstraps over test problems (95% percentile
    /// intervals): pass@1 "helped by X points [lo, hi]" when the interval of the change excludes 0 above, "hurt by X
    /// points [lo, hi]" when it excludes 0 below, else "no significant change"; the share of the teacher−student gap
    /// closed with its interval (the ratio recomputed on each resample); and the same test for the summaries' ROUGE-L F1.
    /// The DPO-KD paper reports its losses on HumanEval plainly; so does this.
    /// </summary>
    public static string Verdict(List<double> m, List<double> s, List<double>? t, List<double> rougeL, List<double>? studentRougeL, int resamples, int seed)
    {
        var d = Bootstrap.PairedDifference(m, s, resamples, seed + 7);
        var parts = new List<string> { Change("pass@1", d) };
        if (t is not null && Bootstrap.GapShare(m, s, t, resamples, seed + 13) is { } g)
            parts.Add(FormattableString.Invariant($"gap closed {100 * g.Mean:0}% [{100 * g.Lo:0}, {100 * g.Hi:0}]"));
        if (studentRougeL is not null && studentRougeL.Count == rougeL.Count && rougeL.Count > 0)
            parts.Add("summaries: " + Change("ROUGE-L", Bootstrap.PairedDifference(rougeL, studentRougeL, resamples, seed + 17)));
        var v = string.Join("; ", parts);
        // the verdict's first word is its kind (ReportFormat.VerdictKind): a loss anywhere is named first when nothing helped
        return v.StartsWith("no significant", StringComparison.Ordinal) && v.Contains("summaries: hurt by", StringComparison.Ordinal) ? "hurt (summaries); " + v : v;
    }

    static string Change(string metric, Report.Estimate d) =>
        d.Lo > 0 ? FormattableString.Invariant($"helped by {100 * d.Mean:0.0} points {metric} [{100 * d.Lo:+0.0;-0.0;0.0}, {100 * d.Hi:+0.0;-0.0;0.0}]")
        : d.Hi < 0 ? FormattableString.Invariant($"hurt by {-100 * d.Mean:0.0} points {metric} [{100 * d.Lo:+0.0;-0.0;0.0}, {100 * d.Hi:+0.0;-0.0;0.0}]")
        : FormattableString.Invariant($"no significant change in {metric}: {100 * d.Mean:+0.0;-0.0;0.0} points [{100 * d.Lo:+0.0;-0.0;0.0}, {100 * d.Hi:+0.0;-0.0;0.0}]");

    /// <summary>A JSON integer whatever CLR type it was written from (int or long), 0 when absent.</summary>
    /// <summary>What PERsD's teacher did, for its verdict: "teacher solved 60 of 241 failed tasks afresh (persd.teacher_mode: solve, not a repair); 60 kept".</summary>
    public static string PersdLabel(JsonObject persd)
    {
        int failed = (int)persd["failed_tasks"]!, kept = (int)persd["kept"]!, tasks = (int)persd["tasks"]!;
        return (string?)persd["teacher_mode"] == "solve"
            ? FormattableString.Invariant($"student failed {failed} of {tasks} distill tasks; the teacher, given each failed task alone (persd.teacher_mode: solve; it cannot read the repair conversation), solved {kept} afresh (not a repair of the student's attempt): {kept} examples")
            : FormattableString.Invariant($"student failed {failed} of {tasks} distill tasks; the teacher repaired {kept} (PERsD's repair conversation): {kept} examples");
    }

    static long Long(JsonNode? n) => n is null ? 0 : long.Parse(n.ToJsonString(), CultureInfo.InvariantCulture);

    static double Points(PairOutcome o) => o switch { PairOutcome.Win => 1, PairOutcome.Loss => 0, _ => 0.5 };

    static double TrainSeconds(string name, DemoPaths paths)
    {
        var run = name is "teacher" or "student" ? paths.BaseRun : paths.Run(name);
        var stages = Path.Combine(run, "stages");
        if (!Directory.Exists(stages)) return 0;
        double s = 0;
        foreach (var f in Directory.GetFiles(stages, "*.json"))
            if (!f.EndsWith(".failed.json", StringComparison.Ordinal) && JsonNode.Parse(File.ReadAllText(f))?["seconds"] is { } v) s += (double)v;
        return Math.Round(s, 1);
    }

    /// <summary>The offline judge (no language model): agreement of each summary with the test problem's reference.</summary>
    static ReferenceAgreementJudge RuleJudge(IReadOnlyList<string> prompts, IReadOnlyList<string> references)
    {
        var byPrompt = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i < prompts.Count; i++) byPrompt.TryAdd(prompts[i], references[i]);
        return new ReferenceAgreementJudge(q => byPrompt.GetValueOrDefault(q));
    }
}
