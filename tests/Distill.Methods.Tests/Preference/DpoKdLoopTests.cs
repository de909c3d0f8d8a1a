using System.Text.Json.Nodes;
using Distill.Methods.DpoKd;
using Distill.Methods.Preference;
using Distill.Models.Lora;
using Distill.Training;
using Distill.Training.Objectives;

namespace Distill.Methods.Tests.Preference;

/// <summary>DPO-KD offline and online on a tiny random student: rounds, pairs per iteration, joined metrics, resume.</summary>
public class DpoKdLoopTests
{
    static readonly string[] Prompts = ["Write a function that adds two numbers.", "Summarize: the cat sat on the mat.", "def square(x):"];
    static readonly Answer?[] Teacher =
    [
        new("def add(a, b):\n    return a + b", "teacher"), new("A cat sat.", "teacher"), new("    return x * x", "teacher"),
    ];

    static DpoKdOptions Options(bool online) => new()
    {
        Online = online, Iterations = 2, DropTruncated = false,
        Sampling = new SamplingSettings(N: 1, Temperature: 1f, MaxNewTokens: 5, Seed: 7),
        Loss = new PreferenceOptions(PreferenceLossKind.Dpo, Beta: 0.1f),
        Trainer = new TrainerOptions { Epochs = 1, BatchSize = 1, LearningRate = 5e-3f, MaxLength = 64, SaveSteps = 1, Seed = 1 },
        Lora = new LoraConfig { R = 4, LoraAlpha = 8, LoraDropout = 0.1, TargetModules = ["q_proj", "v_proj"] },
    };

    [Fact]
    public void OfflineSamplesOnceAndOnlineResamplesWithTheAdapter()
    {
        string root = Directory.CreateTempSubdirectory("dpokd").FullName;
        string student = TinyLm.Make(root);

        var off = new DpoKdLoop(Options(online: false), student, Prompts, Teacher, Path.Combine(root, "off")).Run();
        Assert.True(off.Completed);
        Assert.Single(off.Rounds);
        Assert.Equal(3, off.Rounds[0].Kept);
        Assert.True(File.Exists(Path.Combine(off.FinalDir!, "adapter_model.safetensors")));
        Assert.False(Directory.Exists(Path.Combine(root, "off", "iter-2")));

        var onLoop = new DpoKdLoop(Options(online: true), student, Prompts, Teacher, Path.Combine(root, "on"));
        var on = onLoop.Run();
        Assert.True(on.Completed);
        Assert.Equal(2, on.Rounds.Count);
        // iteration 1 is the base student, sampled exactly as offline; iteration 2 comes from the trained adapter with its own seeds
        var p1 = Rows(onLoop.PairsPath(1));
        var p2 = Rows(onLoop.PairsPath(2));
        Assert.Equal(Rows(Path.Combine(root, "off", "iter-1", "pairs.jsonl")).Select(r => (string?)r["rejected"]), p1.Select(r => (string?)r["rejected"]));
        Assert.NotEqual(p1.Select(r => (string?)r["rejected"]), p2.Select(r => (string?)r["rejected"]));
        Assert.All(p2, r => { Assert.Equal(2, (int)r["iteration"]!); Assert.Equal("teacher", (string?)r["chosen_model"]); });
        // metrics joined over iterations: 3 steps each, global steps 1..6, TRL's reward names present
        var metrics = Rows(on.MetricsPath);
        Assert.Equal([1, 1, 1, 2, 2, 2], metrics.Select(m => (int)m["iteration"]!));
        Assert.Equal([1, 2, 3, 4, 5, 6], metrics.Select(m => (int)m["global_step"]!));
        Assert.All(metrics, m => Assert.NotNull(m["rewards/margins"]));
        Assert.Equal(2, File.ReadAllLines(Path.Combine(root, "on", RoundFiles.Iterations)).Length);
    }

    [Fact]
    public void OnlineTrainedWholeStartsEachRoundFromThePreviousWeights()
    {
        string root = Directory.CreateTempSubdirectory("dpokd-full").FullName;
        string student = TinyLm.Make(root);
        var loop = new DpoKdLoop(Options(online: true) with { Lora = null }, student, Prompts, Teacher, Path.Combine(root, "on"));
        var on = loop.Run();
        Assert.True(on.Completed);
        Assert.Equal(2, on.Rounds.Count);
        Assert.Equal(Path.Combine(root, "on", "model"), on.FinalDir);
        Assert.True(File.Exists(Path.Combine(loop.TrainDir(1), "model", "model.safetensors")));
        // round 2 samples from round 1's weights: other rejected answers than round 1's (the base student's)
        Assert.NotEqual(Rows(loop.PairsPath(1)).Select(r => (string?)r["rejected"]), Rows(loop.PairsPath(2)).Select(r => (string?)r["rejected"]));
        Assert.NotEqual(File.ReadAllBytes(Path.Combine(loop.TrainDir(1), "model", "model.safetensors")), File.ReadAllBytes(Path.Combine(on.FinalDir!, "model.safetensors")));
    }

    [Fact]
    public void AnInterruptedOnlineRunResumesToTheSameResult()
    {
        string root = Directory.CreateTempSubdirectory("dpokd-resume").FullName;
        string student = TinyLm.Make(root);
        var straight = new DpoKdLoop(Options(online: true), student, Prompts, Teacher, Path.Combine(root, "a")).Run();

        // stop during iteration 2 (after its first step), then run again
        var b = new DpoKdLoop(Options(online: true), student, Prompts, Teacher, Path.Combine(root, "b"));
        using var cts = new CancellationTokenSource();
        var progress = new SyncProgress(p => { if (p.Stage == "dpo-kd-online/2" && p.Step == 1) cts.Cancel(); });
        var stopped = b.Run(progress: progress, ct: cts.Token);
        Assert.False(stopped.Completed);
        var resumed = b.Run();
        Assert.True(resumed.Completed);

        Assert.Equal(File.ReadAllText(Path.Combine(root, "a", "iter-2", "pairs.jsonl")), File.ReadAllText(b.PairsPath(2)));
        Assert.Equal(RoundFiles.DeterministicMetrics(straight.MetricsPath), RoundFiles.DeterministicMetrics(resumed.MetricsPath));
        Assert.Equal(File.ReadAllBytes(Path.Combine(straight.FinalDir!, "adapter_model.safetensors")), File.ReadAllBytes(Path.Combine(resumed.FinalDir!, "adapter_model.safetensors")));
    }

    static List<JsonObject> Rows(string path) => File.ReadAllLines(path).Where(l => l.Length > 0).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();

    sealed class SyncProgress(Action<TrainingProgress> on) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => on(value);
    }
}
