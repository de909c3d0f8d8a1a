using System.Text.Json.Nodes;
using Distill.Evaluation.Scoring;
using Distill.Methods.Plad;
using Distill.Methods.Preference;
using Distill.Models.Lora;
using Distill.Training;
using Distill.Training.Objectives;

namespace Distill.Methods.Tests.Preference;

/// <summary>PLaD's protocol on tiny random teacher and student: split, SFT of both, pseudo pairs teacher ≻ student, calibration loss, ablations.</summary>
public class PladPipelineTests
{
    static readonly PladRecord[] Records = Enumerable.Range(0, 8).Select(i => new PladRecord(i,
        i % 2 == 0 ? $"Write a function that adds {i} to a number." : $"Summarize: the cat sat on mat {i}.",
        i % 2 == 0 ? $"def add(a):\n    return a + {i}" : "A cat sat.")).ToArray();

    static PladOptions Options(PreferenceLossKind kind, double relabel = 0, double fraction = 1, bool? lengthNorm = null) => new()
    {
        Loss = new PreferenceOptions(kind, Delta: kind == PreferenceLossKind.PladRank ? 1f : 4f) { Temperature = 0.7f, LengthNormalization = lengthNorm },
        StudentSampling = new SamplingSettings(N: 1, Temperature: 1f, MaxNewTokens: 5, Seed: 3),
        TeacherSampling = new SamplingSettings(N: 1, Temperature: 0.7f, MaxNewTokens: 5, Seed: 4),
        Sft = new TrainerOptions { Epochs = 1, BatchSize = 2, LearningRate = 5e-3f, MaxLength = 64, SaveSteps = 0, Seed = 1 },
        Distill = new TrainerOptions { Epochs = 1, BatchSize = 1, LearningRate = 5e-3f, MaxLength = 64, SaveSteps = 1, Seed = 1 },
        Lora = new LoraConfig { R = 4, LoraAlpha = 8, LoraDropout = 0.1, TargetModules = ["q_proj", "v_proj"] },
        RelabelFraction = relabel, DistillFraction = fraction, DropTruncated = false, Seed = 2,
    };

    static List<JsonObject> Rows(string path) => File.ReadAllLines(path).Where(l => l.Length > 0).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();

    [Fact]
    public async Task RankingLossRunsTheWholeProtocol()
    {
        string root = Directory.CreateTempSubdirectory("plad").FullName;
        string student = TinyLm.Make(root, "student", seed: 3), teacher = TinyLm.Make(root, "teacher", seed: 9);
        var p = new PladPipeline(Options(PreferenceLossKind.PladRank), student, Path.Combine(root, "run"));
        var r = await p.RunAsync(Records, teacher, null);
        Assert.True(r.Completed);
        Assert.Equal((4, 4), (r.Labelled, r.Distill));
        var split = JsonNode.Parse(File.ReadAllText(p.SplitPath))!;
        var all = split["labelled"]!.AsArray().Concat(split["distill"]!.AsArray()).Select(n => (int)n!).Order();
        Assert.Equal(Enumerable.Range(0, 8), all);                        // two disjoint halves of the data
        Assert.True(File.Exists(Path.Combine(root, "run", "sft-student", "adapter", "adapter_model.safetensors")));
        Assert.True(File.Exists(Path.Combine(root, "run", "sft-teacher", "adapter", "adapter_model.safetensors")));
        var pairs = Rows(p.PairsPath);
        Assert.Equal(4, pairs.Count);
        Assert.All(pairs, x => { Assert.Equal("teacher", (string?)x["chosen_model"]); Assert.Equal("student", (string?)x["rejected_model"]); Assert.Equal("pseudo", (string?)x["label"]); });
        var metrics = Rows(Path.Combine(p.DistillDir, Trainer.MetricsFile));
        Assert.Equal(4, metrics.Count);
        // reference-free: the "rewards" are the student's length-normalised log-likelihoods at τ = 0.7, both negative
        Assert.All(metrics, m => { Assert.True((double)m["rewards/chosen"]! < 0); Assert.Equal((double)m["rewards/chosen"]!, (double)m["logps/chosen"]!, 6); });
        Assert.True(File.Exists(Path.Combine(r.FinalDir!, "adapter_model.safetensors")));

        // run again: every step is complete and skipped, nothing changes
        var before = File.ReadAllText(p.PairsPath);
        var again = await p.RunAsync(Records, teacher, null);
        Assert.True(again.Completed);
        Assert.Equal(before, File.ReadAllText(p.PairsPath));
    }

    [Fact]
    public async Task EveryWeightTrainsWithoutAnAdapter()
    {
        // Lora null (student.adapter.r 0): SFT and calibration train the whole model; the losses need no reference model
        string root = Directory.CreateTempSubdirectory("plad-full").FullName;
        string student = TinyLm.Make(root, "student", seed: 3), teacher = TinyLm.Make(root, "teacher", seed: 9);
        var p = new PladPipeline(Options(PreferenceLossKind.PladRank) with { Lora = null }, student, Path.Combine(root, "run"));
        var r = await p.RunAsync(Records, teacher, null);
        Assert.True(r.Completed);
        Assert.Equal(Path.Combine(root, "run", "model"), r.FinalDir);
        Assert.True(File.Exists(Path.Combine(root, "run", "sft-student", "model", "model.safetensors")));
        Assert.True(File.Exists(Path.Combine(root, "run", "sft-teacher", "model", "model.safetensors")));
        Assert.False(Directory.Exists(Path.Combine(root, "run", "adapter")));
        Assert.False(File.Exists(Path.Combine(p.DistillDir, PreferenceObjective.ReferenceCacheFile)));
        Assert.Equal(4, Rows(Path.Combine(p.DistillDir, Trainer.MetricsFile)).Count);
        // the calibrated weights differ from the SFT'd student's they started from, and reload as a plain model
        var sft = File.ReadAllBytes(Path.Combine(root, "run", "sft-student", "model", "model.safetensors"));
        Assert.NotEqual(sft, File.ReadAllBytes(Path.Combine(r.FinalDir!, "model.safetensors")));
        using (var m = Distill.Models.ModelIO.Load(r.FinalDir!)) Assert.True(m.Config.VocabSize > 0);
        var again = await p.RunAsync(Records, teacher, null);                 // complete: skipped, same output
        Assert.True(again.Completed);
    }

    [Fact]
    public async Task MarginLossScoresPairsAndTheAblationsApply()
    {
        string root = Directory.CreateTempSubdirectory("plad-m").FullName;
        string student = TinyLm.Make(root, "student", seed: 3), teacher = TinyLm.Make(root, "teacher", seed: 9);
        var rouge = new RougeReferenceScorer();
        await Assert.ThrowsAsync<ArgumentException>(() => new PladPipeline(Options(PreferenceLossKind.PladMargin), student, Path.Combine(root, "x")).RunAsync(Records, teacher, null));

        // margin loss, half the pairs relabelled by ROUGE-L against the reference, half the distillation data, no length normalisation
        var p = new PladPipeline(Options(PreferenceLossKind.PladMargin, relabel: 0.5, fraction: 0.5, lengthNorm: false), student, Path.Combine(root, "m"));
        var r = await p.RunAsync(Records, teacher, null, rouge);
        Assert.True(r.Completed);
        Assert.Equal(2, r.Distill);
        var pairs = Rows(p.PairsPath);
        Assert.All(pairs, x => { Assert.NotNull(x["chosen_score"]); Assert.NotNull(x["rejected_score"]); Assert.NotNull(x["reference"]); });
        Assert.Equal(1, pairs.Count(x => (string?)x["label"] == "scored"));
        Assert.All(pairs.Where(x => (string?)x["label"] == "scored"), x => Assert.True((double)x["chosen_score"]! >= (double)x["rejected_score"]!));
        Assert.Equal(1, (int)JsonNode.Parse(File.ReadAllText(PairBuilder.StatsPath(p.PairsPath)))!["relabelled"]!);
        // summed log-likelihoods (no normalisation) are far below the per-token means
        var m = Rows(Path.Combine(p.DistillDir, Trainer.MetricsFile));
        Assert.All(m, x => Assert.True((double)x["logps/chosen"]! < -5));

        // an API teacher: answers given by record index, no teacher SFT
        var answers = Records.ToDictionary(x => x.Index, x => (Answer?)new Answer(x.Reference!, "openai:gpt-4o"));
        var api = await new PladPipeline(Options(PreferenceLossKind.PladRank), student, Path.Combine(root, "api")).RunAsync(Records, null, answers);
        Assert.True(api.Completed);
        Assert.False(Directory.Exists(Path.Combine(root, "api", "sft-teacher")));
        Assert.All(Rows(Path.Combine(root, "api", "pairs.jsonl")), x => Assert.Equal("openai:gpt-4o", (string?)x["chosen_model"]));
    }
}
