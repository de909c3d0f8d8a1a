using System.Text.Json.Nodes;
using Distill.Methods.Preference;
using Distill.Methods.Training;
using Distill.Text;
using Distill.Training;
using Distill.Training.Objectives;

namespace Distill.Methods.DpoKd;

/// <summary>What a DPO-KD run produced: whether it finished, the final adapter (or model) folder, per-round pair counts.</summary>
public sealed record DpoKdResult(bool Completed, string? FinalDir, IReadOnlyList<PairStats> Rounds, string MetricsPath);

/// <summary>
/// DPO-KD offline and online (dpo-kd.txt §2.1–2.2, Fig. 1–2) over a folder:
/// <code>
/// iter-K/pairs.jsonl         prompt, chosen (teacher), rejected (student at iteration K) + provenance
/// iter-K/pairs.stats.json    pairs kept / dropped by reason
/// iter-K/train/              the Trainer's run: metrics.jsonl, checkpoints, reference_logps.safetensors, adapter/
/// iter-K/complete.json       written when round K has finished (its summary)
/// metrics.jsonl              every round's steps, with "iteration" and "global_step" (Fig. 4/7 curves)
/// iterations.jsonl           one summary line per round
/// adapter/ (or model/)       the final weights
/// </code>
/// Resumable at any point: a finished round is skipped; the pairs of an unfinished round are read back (their
/// sampling seeds depend only on (seed, iteration, prompt)), and its training resumes from its last checkpoint.
/// The reference is the base student (adapter off) in every round, as in offline DPO-KD; the adapter carries over.
/// </summary>
public sealed class DpoKdLoop(DpoKdOptions options, string studentDir, IReadOnlyList<string> prompts, IReadOnlyList<Answer?> teacherAnswers, string outDir)
{
    public const string CompleteFile = "complete.json";

    public string RoundDir(int k) => Path.Combine(outDir, $"iter-{k}");
    public string PairsPath(int k) => Path.Combine(RoundDir(k), "pairs.jsonl");
    public string TrainDir(int k) => Path.Combine(RoundDir(k), "train");
    string FinalName => options.Lora is null ? "model" : "adapter";

    public DpoKdResult Run(TextWriter? log = null, IProgress<TrainingProgress>? progress = null, CancellationToken ct = default)
    {
        options.Validate();
        if (prompts.Count == 0) throw new ArgumentException("DPO-KD: no prompts");
        if (teacherAnswers.Count != prompts.Count) throw new ArgumentException($"DPO-KD: {prompts.Count} prompts but {teacherAnswers.Count} teacher answers");
        var tokenizer = TokenizerLoader.Load(studentDir);
        var lora = options.Lora is null ? null : options.Lora with { BaseModelNameOrPath = Path.GetFullPath(studentDir) };
        var stats = new List<PairStats>();
        var summaries = new List<string>();
        for (int k = 1; k <= options.Rounds; k++)
        {
            string? previous = k == 1 ? null : Path.Combine(TrainDir(k - 1), FinalName);
            var complete = Path.Combine(RoundDir(k), CompleteFile);
            if (File.Exists(complete))
            {
                var done = JsonNode.Parse(File.ReadAllText(complete))!.AsObject();
                stats.Add(PairStats.Read(PairBuilder.StatsPath(PairsPath(k))));
                summaries.Add(done.ToJsonString());
                log?.WriteLine($"[dpo-kd] iteration {k}: complete, skipped");
                continue;
            }
            // trained whole, round k starts from round k − 1's weights, which are also its reference (reference_logps are taken
            // before the round trains: the previous iterate, as in iterative DPO); with an adapter, from round k − 1's adapter
            using var model = options.Lora is null
                ? StudentPolicy.Load(previous ?? studentDir, null, false, null, options.Trainer.Seed, options.SamplingWeights)
                : StudentPolicy.Load(studentDir, lora, options.QLora, previous, options.Trainer.Seed, options.SamplingWeights);
            if (!File.Exists(PairsPath(k)))
            {
                // §2.2: "for each iteration, the student model will be queried with the training dataset prompts, and the
                // responses at the current iteration will function as the negative samples"; iteration 1 = the base student
                var samples = LocalSampler.Sample(model, tokenizer, prompts, options.Sampling, k, ct: ct);
                var (pairs, s) = PairBuilder.Build(prompts, teacherAnswers, samples, options.StudentName, options.Sampling, k, dropTruncated: options.DropTruncated);
                PairBuilder.Write(PairsPath(k), pairs, s, new JsonObject { ["iteration"] = k, ["online"] = options.Online });
                log?.WriteLine($"[dpo-kd] iteration {k}: {s}");
            }
            var st = PairStats.Read(PairBuilder.StatsPath(PairsPath(k)));
            stats.Add(st);
            if (st.Kept == 0)
                throw new InvalidOperationException($"DPO-KD iteration {k}: every pair was dropped ({st}); see {PairBuilder.StatsPath(PairsPath(k))} — raise the sampling max_new_tokens or check the teacher's answers");
            var examples = TrainingJsonl.Read(PairsPath(k), tokenizer, preference: true, model.Config.VocabSize);
            var trainerOptions = options.Trainer with
            {
                Stage = options.Online ? $"dpo-kd-online/{k}" : "dpo-kd-offline", Lora = lora, Resume = true,
                PadTokenId = model.Config.PadTokenId ?? 0,
            };
            var trainer = new Trainer(trainerOptions, new PreferenceObjective(options.Loss), examples, model, TrainDir(k));
            var result = trainer.Run(progress, ct);
            if (!result.Completed) return new DpoKdResult(false, null, stats, Path.Combine(outDir, RoundFiles.Metrics));
            var summary = RoundFiles.Summary(result.MetricsPath);
            summary["iteration"] = k;
            summary["pairs"] = st.ToJson();
            RoundFiles.WriteAtomic(complete, summary.ToJsonString());
            summaries.Add(summary.ToJsonString());
            log?.WriteLine($"[dpo-kd] iteration {k}: {result.Steps} steps, last loss {result.LastLoss:G5}, mean margin {(double?)summary["mean_rewards/margins"]:G4}");
        }
        RoundFiles.JoinMetrics(outDir, Enumerable.Range(1, options.Rounds).Select(k => (k, Path.Combine(TrainDir(k), Trainer.MetricsFile))).ToList());
        RoundFiles.WriteAtomic(Path.Combine(outDir, RoundFiles.Iterations), string.Concat(summaries.Select(s => s + "\n")));
        var final = Path.Combine(outDir, FinalName);
        RoundFiles.CopyDirectory(Path.Combine(TrainDir(options.Rounds), FinalName), final);
        return new DpoKdResult(true, final, stats, Path.Combine(outDir, RoundFiles.Metrics));
    }
}
