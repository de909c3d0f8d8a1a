using System.Diagnostics;
using System.Text.Json.Nodes;
using Distill.Methods.Demo;
using Distill.Methods.Runs;
using Distill.Report;

namespace Distill.Methods.Tests.Demo;

/// <summary>
/// `distill demo --preset quick` end to end (issue 16 §2: quick is part of the test suite and shows every stage working,
/// not a result): every method's run completed through the recipe machinery, every model was evaluated, results.json holds
/// every method with numbers; then a resumed demo with one method run and every evaluation removed recomputes them and
/// gives the same metrics (same seed → same table).
/// </summary>
public class DemoQuickTests
{
    static readonly string[] Models = ["teacher", "student", .. DemoMethods.All.Select(m => m.Name), "plad-rank-f0.5"];

    [Fact]
    public async Task QuickDemo_RunsEveryStage_FillsResults_AndAResumedRunGivesTheSameMetrics()
    {
        var dir = Directory.CreateTempSubdirectory("distill-demo-quick-").FullName;
        try
        {
            var log = new StringWriter();
            var clock = Stopwatch.StartNew();
            var events = new List<RunProgressEvent>();
            var pipeline = new DemoPipeline(DemoPreset.Quick, dir, seed: 0, resume: false, log, progress: RunProgress.Of(e => { lock (events) events.Add(e); }));
            var results = await pipeline.RunAsync();
            var seconds = clock.Elapsed.TotalSeconds;
            Assert.True(seconds < 180, $"quick demo took {seconds:F0} s (issue 16: at most 3 minutes on 2 cores)");

            // every stage ran: the base run and each method's recipe run have complete markers for all their stages
            var paths = new DemoPaths(dir);
            foreach (var name in new[] { "base" }.Concat(Models.Skip(2)))
            {
                var recipe = Recipe.Load(Path.Combine(paths.Recipes, name + ".yaml"));
                var stages = RunPipeline.Stages(recipe, new RunDirectory(paths.Run(name))).Select(s => s.Name).ToList();
                bool untrained = File.Exists(DemoPipeline.Untrained(paths, name));
                foreach (var stage in stages.Where(s => !(untrained && s is "train" or "persd-eval")))
                    Assert.True(StageRunner.IsComplete(Path.Combine(paths.Run(name), "stages", stage + ".json")), $"{name}: stage {stage} did not complete");
            }
            Assert.True(File.Exists(Path.Combine(paths.RewardModel, "complete.json")));
            Assert.True(File.Exists(paths.Server));

            // results.json: every model with numbers
            var saved = DemoResults.Load(paths.Results);
            Assert.Equal(Models, saved.Models.Select(m => m.Name));
            Assert.Equal("rule-based", saved.Judge);
            foreach (var m in saved.Models)
            {
                foreach (var e in new[] { m.Pass1, m.Rouge1, m.Rouge2, m.RougeL, m.RewardWinRate, m.JudgeWinRate, m.WinRateVsTeacher })
                {
                    Assert.NotNull(e);
                    Assert.True(double.IsFinite(e!.Mean) && e.Lo <= e.Mean && e.Mean <= e.Hi, $"{m.Name}: {e}");
                    Assert.Equal(DemoPreset.Quick.TestProblems, e.N);
                }
                Assert.True(m.PassK!.ContainsKey("2"), m.Name);
                Assert.NotNull(m.MeanWords);
                Assert.True(m.Parameters > 0 && m.TrainableParameters > 0, m.Name);
                // a PERsD run with no passing refinement trains nothing (marked, and said in its verdict)
                if (File.Exists(DemoPipeline.Untrained(paths, m.Name))) Assert.StartsWith("not trained:", m.Verdict);
                else Assert.NotEmpty(m.LossCurve);
                if (m.Name is not ("teacher" or "student")) Assert.NotNull(m.Verdict);
            }
            // the API path: SeqKD (the first to ask) and PERsD plain (its own conversations; refine sends the same) reached the served teacher and were charged;
            // DPO-KD and PLaD send SeqKD's requests, answered by the demo's one response cache: nothing reached the teacher
            foreach (var m in DemoMethods.All.Where(m => m.UsesApiTeacher))
            {
                var r = saved.Models.Single(x => x.Name == m.Name);
                if (m.Name is "seqkd" or "persd-plain")
                    Assert.True(r.TeacherTokens > 0 && r.TeacherCostUsd > 0, $"{m.Name}: {r.TeacherTokens} tokens, ${r.TeacherCostUsd}");
                else Assert.True(r.TeacherTokens == 0 && (r.TeacherCostUsd ?? 0) == 0, $"{m.Name}: {r.TeacherTokens} tokens, ${r.TeacherCostUsd} (expected from the shared cache)");
                if (m.RecipeMethod != "persd") { if (m.Name == "seqkd") Assert.True(r.TeacherExamples > 0, m.Name); continue; }
                // PERsD's teacher examples are the answers it kept (they passed the tests), not its requests; its verdict says
                // what the teacher was asked (the failed tasks alone: persd.teacher_mode solve)
                var persd = JsonNode.Parse(File.ReadAllText(Path.Combine(paths.Run(m.Name), "stages", "persd-data.json")))!["details"]!;
                Assert.Equal("solve", (string)persd["teacher_mode"]!);
                Assert.Equal((long)persd["kept"]!, r.TeacherExamples);
                Assert.True((int)persd["failed_tasks"]! > 0, m.Name);
                Assert.Contains(DemoScores.PersdLabel(DemoPipeline.PersdCounts(paths.Run(m.Name))), r.Verdict, StringComparison.Ordinal);
            }
            Assert.Equal(0, saved.Models.Single(x => x.Name == "sft").TeacherExamples);
            // DPO-KD Fig. 4: reward margins per global step, offline and online (two iterations joined)
            Assert.Equal(DemoPreset.Quick.MethodSteps, saved.Models.Single(x => x.Name == "dpo-kd-offline").RewardMargins.Count);
            Assert.Equal(2 * DemoPreset.Quick.MethodSteps, saved.Models.Single(x => x.Name == "dpo-kd-online").RewardMargins.Count);
            Assert.Equal([0.5, 1.0], saved.PladFraction.Select(p => p.X));
            Assert.Contains("[   ", log.ToString()); // per-stage progress lines with elapsed time
            Assert.Contains("pass@1", DemoTable.Render(saved));

            // the teacher usage of every API method is what its stage markers booked (PLaD's teacher-gen included); the demo's
            // one response cache (teacher.cache) answers DPO-KD's and PLaD's requests, SeqKD's already: only SeqKD and PERsD plain
            // (its own conversations) reach the teacher
            Assert.True(File.Exists(paths.TeacherCache));
            foreach (var m in DemoMethods.All.Where(m => m.UsesApiTeacher).Select(m => m.Name).Append("plad-rank-f0.5"))
            {
                var booked = DemoPipeline.TeacherUsage(paths.Run(m));
                bool asks = m is "seqkd" or "persd-plain";
                Assert.True(asks ? (long)booked["requests"]! > 0 : (long)booked["requests"]! == 0, $"{m}: {booked["requests"]} teacher requests in its markers");
                Assert.False(File.Exists(Path.Combine(paths.Run(m), "cache.sqlite")), $"{m}: a cache of its own");
                Assert.Equal((long)booked["requests"]!, (long)JsonNode.Parse(File.ReadAllText(Path.Combine(paths.Run(m), "demo-teacher-usage.json")))!["requests"]!);
            }
            Assert.True(File.Exists(Path.Combine(paths.Run("plad-rank"), "stages", "teacher-gen.json")));

            CheckEvents(events, pipeline.StageCount);

            // resume after losing one method run and every evaluation: recomputed, the same numbers
            Directory.Delete(paths.Run("kd-fkl"), recursive: true);
            Directory.Delete(paths.Eval, recursive: true);
            events.Clear();
            var again = await new DemoPipeline(DemoPreset.Quick, dir, seed: 0, resume: true, TextWriter.Null, progress: RunProgress.Of(e => { lock (events) events.Add(e); })).RunAsync();
            CheckEvents(events, pipeline.StageCount);
            // the resumed demo skipped the finished runs' stages (seqkd's) and ran the lost one's (kd-fkl's train)
            Assert.Contains(events, e => e is StageCompleted { Level: 1, Name: "teacher-gen", Skipped: true });
            Assert.Contains(events, e => e is StageCompleted { Level: 1, Name: "train", Skipped: false });
            Assert.Equal(Metrics(results), Metrics(again));
            Assert.Equal(Metrics(saved), Metrics(DemoResults.Load(paths.Results)));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    /// <summary>
    /// The progress a console draws: the demo's stages in order (0..count-1), each completed after it started; the work
    /// inside them (training steps, teacher calls, evaluated problems, sandbox samples, reward-model steps) reaches its totals.
    /// </summary>
    static void CheckEvents(List<RunProgressEvent> events, int count)
    {
        var started = events.OfType<StageStarted>().Where(e => e.Level == 0).ToList();
        Assert.Equal(Enumerable.Range(0, count), started.Select(e => e.Index));
        Assert.All(started, e => Assert.Equal(count, e.Count));
        var q = DemoPreset.Quick;
        Assert.Equal(started.Select(e => e.Name).Order(), events.OfType<StageCompleted>().Where(e => e.Level == 0).Select(e => e.Name).Order());
        Assert.Equal("data", started[0].Name);
        Assert.StartsWith("scores", started[^1].Name);
        // every level-0 stage completes once, after it started; at most ParallelRuns of them (method runs, evaluations) at once
        var open = new HashSet<int>();
        int widest = 0;
        foreach (var e in events)
            if (e is StageStarted { Level: 0 } s) { Assert.True(open.Add(s.Index)); widest = Math.Max(widest, open.Count); Assert.True(open.Count <= q.ParallelRuns, $"{open.Count} stages at once"); }
            else if (e is StageCompleted { Level: 0 } c) Assert.True(open.Remove(c.Index), $"stage {c.Index} completed without starting");
        Assert.Empty(open);
        Assert.Equal(q.ParallelRuns, widest);
        var work = events.OfType<WorkProgress>().ToList();
        foreach (var name in Models)
        {
            var gen = work.Where(w => w.What.StartsWith(name + ": code generation", StringComparison.Ordinal)).ToList();
            var sandbox = work.Where(w => w.What == name + ": sandbox (hidden tests)").ToList();
            var sums = work.Where(w => w.What == name + ": summaries (greedy)").ToList();
            Assert.True(gen.Count > 0 && sandbox.Count > 0 && sums.Count > 0, $"{name}: no evaluation progress");
            Assert.Equal(q.TestProblems, gen.Max(w => w.Done));
            Assert.Equal(q.TestProblems * q.EvalSamples, sandbox.Max(w => w.Done));
            Assert.Equal(q.TestProblems, sums.Max(w => w.Done));
            Assert.All(gen.Where(w => w.Done > 0), w => Assert.True(w.TokensPerSecond > 0, $"{name}: no tokens/s"));
        }
        var reward = work.Where(w => w.What.StartsWith("reward model", StringComparison.Ordinal)).ToList();
        if (reward.Count > 0) Assert.Equal(q.RewardSteps, reward.Max(w => w.Done));
        // training steps (with loss and tokens/s) reach their totals; teacher calls reach theirs
        var steps = work.Where(w => w.Unit == "steps" && w.Done > 0).ToList();
        Assert.NotEmpty(steps);
        Assert.All(steps, w => Assert.InRange(w.Done, 1, w.Total));
        Assert.Contains(steps, w => w.Done == w.Total && w.Loss is not null && w.TokensPerSecond > 0);
        var calls = work.Where(w => w.Unit == "calls").ToList();
        if (calls.Count > 0) Assert.Contains(calls, w => w.Done == w.Total);
    }

    /// <summary>results.json without what a clock measures (wall time, start, training seconds).</summary>
    static string Metrics(DemoResults r)
    {
        var json = JsonNode.Parse(r.ToJson())!.AsObject();
        json.Remove("wall_seconds");
        json.Remove("started");
        foreach (var m in json["models"]!.AsArray()) m!.AsObject().Remove("train_seconds");
        return json.ToJsonString();
    }
}
