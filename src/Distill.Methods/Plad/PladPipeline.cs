using System.Text.Json.Nodes;
using Distill.Data.Benchmarks;
using Distill.Data.Jsonl;
using Distill.Evaluation.Scoring;
using Distill.Methods.Preference;
using Distill.Methods.Training;
using Distill.Models.Lora;
using Distill.Text;
using Distill.Training;
using Distill.Training.Objectives;

namespace Distill.Methods.Plad;

/// <summary>What a PLaD run produced.</summary>
public sealed record PladResult(bool Completed, string? FinalDir, PairStats? Pairs, ScoringReport? Scoring, int Labelled, int Distill);

/// <summary>
/// PLaD's protocol (plad.txt §4–5; see <see cref="PladOptions"/>) over a folder:
/// <code>
/// split.json                      the labelled and distillation indices (§5.1), after the §5.5 fraction
/// sft.jsonl                       the labelled shard in prompt/completion columns
/// sft-teacher/, sft-student/      SFT runs (Trainer folders; adapter/, or model/ trained whole), each with complete.json when done
/// pairs.jsonl (+ .stats.json)     pseudo-preference pairs teacher ≻ student on the distillation shard (§4.2),
///                                 scored/relabelled when a scorer is given (§4.3 Eq. 5, §5.3)
/// distill/                        the calibration-loss run (metrics.jsonl with TRL's names; the "rewards" are ℓθ)
/// adapter/ (or model/)            the distilled student's adapter (the SFT adapter, trained further), or its weights when
///                                 <see cref="PladOptions.Lora"/> is null (every weight trained)
/// </code>
/// Every step is skipped when its output is complete, and the training steps resume from their checkpoints.
/// </summary>
public sealed class PladPipeline(PladOptions options, string studentDir, string outDir)
{
    public string SplitPath => Path.Combine(outDir, "split.json");
    public string PairsPath => Path.Combine(outDir, "pairs.jsonl");
    public string DistillDir => Path.Combine(outDir, "distill");
    string Complete(string dir) => Path.Combine(dir, "complete.json");

    /// <param name="teacherDir">a local teacher folder (sampled by the engine, SFT'd when <see cref="PladOptions.SftTeacher"/>), or null with <paramref name="teacherAnswers"/>.</param>
    /// <param name="teacherAnswers">an API teacher's answers, by record index (null = use <paramref name="teacherDir"/>).</param>
    /// <param name="scorer">the scoring function s (needed by the margin loss and by relabelling).</param>
    /// <param name="task">the code task of a record index, for the tests scorer.</param>
    public async Task<PladResult> RunAsync(IReadOnlyList<PladRecord> records, string? teacherDir, IReadOnlyDictionary<int, Answer?>? teacherAnswers,
        IScorer? scorer = null, Func<int, CodeTask?>? task = null, TextWriter? log = null, IProgress<TrainingProgress>? progress = null, CancellationToken ct = default)
    {
        options.Validate();
        if ((teacherDir is null) == (teacherAnswers is null)) throw new ArgumentException("PLaD: give either a local teacher folder or the teacher's answers");
        bool margin = options.Loss.Kind == PreferenceLossKind.PladMargin;
        if ((margin || options.RelabelFraction > 0) && scorer is null)
            throw new ArgumentException("PLaD: the margin calibration loss (Eq. 5) and relabelled pairs (§5.3) need a scoring function (scorer)");
        Directory.CreateDirectory(outDir);
        var (labelled, distill) = PladData.Split(records, options.DistillFraction, options.Seed);
        RoundFiles.WriteAtomic(SplitPath, new JsonObject
        {
            ["labelled"] = new JsonArray(labelled.Select(r => (JsonNode)r.Index).ToArray()),
            ["distill"] = new JsonArray(distill.Select(r => (JsonNode)r.Index).ToArray()),
            ["distill_fraction"] = options.DistillFraction,
        }.ToJsonString());
        log?.WriteLine($"[plad] {labelled.Count} labelled records (SFT), {distill.Count} distillation prompts");

        // §4.1: SFT of the student (and of a local teacher) on the labelled shard
        var sftData = Path.Combine(outDir, "sft.jsonl");
        if (!File.Exists(sftData))
        {
            using var w = new JsonlWriter(sftData);
            foreach (var r in labelled.Where(r => !string.IsNullOrWhiteSpace(r.Reference)))
                w.Write(new JsonObject { ["prompt"] = r.Prompt, ["completion"] = r.Reference });
            w.Commit();
        }
        string? studentAdapter = options.SftStudent ? Sft("sft-student", studentDir, sftData, log, progress, ct) : null;
        if (options.SftStudent && studentAdapter is null) return new PladResult(false, null, null, null, labelled.Count, distill.Count);
        string? teacherAdapter = null;
        if (teacherDir is not null && options.SftTeacher)
        {
            teacherAdapter = Sft("sft-teacher", teacherDir, sftData, log, progress, ct);
            if (teacherAdapter is null) return new PladResult(false, null, null, null, labelled.Count, distill.Count);
        }

        // §4.2 Eq. 3: y⁺ ~ teacher(x), y⁻ ~ student(x) on the distillation inputs; pairs (x, y⁺, y⁻)
        ScoringReport? scoring = null;
        if (!File.Exists(PairsPath))
        {
            var prompts = distill.Select(r => r.Prompt).ToList();
            List<Answer?> chosen;
            if (teacherDir is not null)
            {
                var tok = TokenizerLoader.Load(teacherDir);
                using var teacher = Load(teacherDir, teacherAdapter);
                var ts = LocalSampler.Sample(teacher, tok, prompts, options.TeacherSampling with { N = 1 }, 0, ct: ct);
                var settings = options.TeacherSampling.ToJson();
                chosen = ts.Select(a => (Answer?)new Answer(a.Text, "teacher", a.Truncated, Provenance(settings, a))).ToList();
            }
            else chosen = distill.Select(r => teacherAnswers!.TryGetValue(r.Index, out var a) ? a : null).ToList();
            var stok = TokenizerLoader.Load(studentDir);
            List<SampledAnswer> rejected;
            using (var student = Load(studentDir, studentAdapter, options.SamplingWeights))
                rejected = LocalSampler.Sample(student, stok, prompts, options.StudentSampling, 0, ct: ct);
            var (pairs, stats) = PairBuilder.Build(prompts, chosen, rejected, "student", options.StudentSampling, 0, distill.Select(r => r.Reference).ToList(), options.DropTruncated);
            // prompt indices in the pairs are positions in the distillation shard; the record index is what a task lookup needs
            Func<int, CodeTask?>? byPosition = task is null ? null : pos => task(distill[pos].Index);
            var extra = new JsonObject { ["relabel_fraction"] = options.RelabelFraction };
            if (scorer is not null && (margin || options.RelabelFraction > 0))
            {
                (pairs, scoring) = await PairScoring.ApplyAsync(pairs, scorer, options.RelabelFraction, scoreAll: margin, options.Seed, byPosition, ct).ConfigureAwait(false);
                extra["scorer"] = scoring.Scorer;
                extra["scored"] = scoring.Scored;
                extra["relabelled"] = scoring.Relabelled;
                extra["swapped"] = scoring.Swapped;
            }
            PairBuilder.Write(PairsPath, pairs, stats, extra);
            log?.WriteLine($"[plad] {stats}" + (scoring is null ? "" : $"; scorer {scoring.Scorer}: {scoring.Scored} pairs scored, {scoring.Relabelled} relabelled, {scoring.Swapped} swapped"));
        }
        var pairStats = PairStats.Read(PairBuilder.StatsPath(PairsPath));
        if (pairStats.Kept == 0) throw new InvalidOperationException($"PLaD: every pair was dropped ({pairStats}); see {PairBuilder.StatsPath(PairsPath)}");

        // §4.3: the calibration loss on the student (its SFT adapter trained further)
        var final = Path.Combine(outDir, FinalName);
        if (!File.Exists(Complete(DistillDir)))
        {
            var stok = TokenizerLoader.Load(studentDir);
            using var model = Train(studentDir, studentAdapter);
            var examples = TrainingJsonl.Read(PairsPath, stok, preference: true, model.Config.VocabSize);
            var trainer = new Trainer(options.Distill with { Stage = "plad", Lora = Lora(studentDir), Resume = true, PadTokenId = model.Config.PadTokenId ?? 0 },
                new PreferenceObjective(options.Loss), examples, model, DistillDir);
            var result = trainer.Run(progress, ct);
            if (!result.Completed) return new PladResult(false, null, pairStats, scoring, labelled.Count, distill.Count);
            RoundFiles.WriteAtomic(Complete(DistillDir), RoundFiles.Summary(result.MetricsPath).ToJsonString());
            RoundFiles.CopyDirectory(result.FinalDir!, final);
        }
        return new PladResult(true, final, pairStats, scoring, labelled.Count, distill.Count);
    }

    LoraConfig? Lora(string baseDir) => options.Lora is null ? null : options.Lora with { BaseModelNameOrPath = Path.GetFullPath(baseDir) };

    /// <summary>The Trainer's final folder: adapter/, or model/ when every weight is trained.</summary>
    string FinalName => options.Lora is null ? "model" : "adapter";

    /// <summary>A model to sample: the base with its SFT adapter, or the SFT'd weights themselves when trained whole (tuned: that run's output, null = the base).</summary>
    Distill.Models.CausalLM Load(string baseDir, string? tuned, Distill.Models.InferenceWeights weights = Distill.Models.InferenceWeights.F32) =>
        options.Lora is null ? StudentPolicy.Load(tuned ?? baseDir, null, false, null, options.Seed, weights)
            : StudentPolicy.Load(baseDir, tuned is null ? null : Lora(baseDir), options.QLora && tuned is not null, tuned, options.Seed, weights);

    /// <summary>A model to train further: a fresh (or the SFT) adapter over the base, or the (SFT'd) weights trained whole.</summary>
    Distill.Models.CausalLM Train(string baseDir, string? tuned) =>
        options.Lora is null ? StudentPolicy.Load(tuned ?? baseDir, null, false, null, options.Seed)
            : StudentPolicy.Load(baseDir, Lora(baseDir), options.QLora, tuned, options.Seed);

    static JsonObject Provenance(JsonObject settings, SampledAnswer a)
    {
        var s = (JsonObject)settings.DeepClone();
        s["answer_seed"] = a.Seed;
        s["finish_reason"] = a.FinishReason;
        return s;
    }

    /// <summary>One SFT run on the labelled shard; the adapter (or model) folder, or null when it was interrupted.</summary>
    string? Sft(string name, string modelDir, string data, TextWriter? log, IProgress<TrainingProgress>? progress, CancellationToken ct)
    {
        var dir = Path.Combine(outDir, name);
        var adapter = Path.Combine(dir, FinalName);
        if (File.Exists(Complete(dir))) return adapter;
        var tok = TokenizerLoader.Load(modelDir);
        using var model = Train(modelDir, null);
        var examples = TrainingJsonl.Read(data, tok, preference: false, model.Config.VocabSize);
        var trainer = new Trainer(options.Sft with { Stage = "plad/" + name, Lora = Lora(modelDir), Resume = true, PadTokenId = model.Config.PadTokenId ?? 0 },
            new SftObjective(), examples, model, dir);
        var result = trainer.Run(progress, ct);
        if (!result.Completed) return null;
        RoundFiles.WriteAtomic(Complete(dir), RoundFiles.Summary(result.MetricsPath).ToJsonString());
        log?.WriteLine($"[plad] {name}: {result.Steps} steps, last loss {result.LastLoss:G5}");
        return adapter;
    }
}
