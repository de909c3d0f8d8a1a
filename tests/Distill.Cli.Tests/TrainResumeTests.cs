using System.Diagnostics;
using System.Text.Json.Nodes;
using Distill.Models;
using Distill.Tensors;
using Distill.Training;

namespace Distill.Cli.Tests;

/// <summary>
/// The crash test of issue 13: `distill train` runs as a child process and is killed with SIGKILL mid-training
/// (twice, at random moments), then resumed with --resume; its metrics.jsonl (field-wise: everything but the
/// wall-clock fields tokens_per_s and elapsed_s) and its final adapter must equal those of an uninterrupted run
/// byte for byte. Same thread count in every run (--threads 2).
/// Run it alone: dotnet test tests/Distill.Cli.Tests -c Release --filter TrainResume
/// </summary>
public class TrainResumeTests
{
    static string Dll => Path.Combine(AppContext.BaseDirectory, "distill.dll");

    static (string Model, string Data) Setup(string root)
    {
        var config = new ModelConfig
        {
            Architecture = "LlamaForCausalLM", ModelType = "llama", Family = ModelFamily.Llama, VocabSize = 256, HiddenSize = 64,
            IntermediateSize = 128, NumLayers = 2, NumHeads = 4, NumKvHeads = 2, HeadDim = 16, MaxPositionEmbeddings = 256, NormEps = 1e-5,
            HiddenAct = "silu", TieWordEmbeddings = true, InitializerRange = 0.05, RopeTheta = 10000, BosTokenId = null, EosTokenIds = [],
        };
        string model = Path.Combine(root, "model");
        using (var m = ModelIO.Create(config))
        {
            ModelInit.Initialize(m, 5);
            ModelIO.Save(m, model);
        }
        var rng = new Rng(9);
        string data = Path.Combine(root, "train.jsonl");
        File.WriteAllLines(data, Enumerable.Range(0, 48).Select(_ =>
        {
            var p = Enumerable.Range(0, 4 + rng.NextInt(12)).Select(_ => (JsonNode?)(1 + rng.NextInt(255))).ToArray();
            var c = Enumerable.Range(0, 8 + rng.NextInt(40)).Select(_ => (JsonNode?)(1 + rng.NextInt(255))).ToArray();
            return new JsonObject { ["prompt_ids"] = new JsonArray(p), ["completion_ids"] = new JsonArray(c) }.ToJsonString();
        }));
        return (model, data);
    }

    static string[] Args(string model, string data, string outDir, bool resume) =>
    [
        Dll, "train", "--method", "sft", "--data", data, "--model", model, "--out", outDir, "--batch", "2", "--accum", "2", "--epochs", "3",
        "--save-steps", "3", "--lora-r", "4", "--lora-dropout", "0.1", "--group-by-length", "--threads", "2", "--max-len", "64", "--lr", "3e-3",
        "--schedule", "cosine", "--warmup-steps", "3", .. resume ? new[] { "--resume" } : [],
    ];

    static Process Start(string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        return Process.Start(psi)!;
    }

    static void RunToEnd(string[] args)
    {
        using var p = Start(args);
        string err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"distill train exited {p.ExitCode}: {err}");
    }

    static int Lines(string path)
    {
        try { return File.Exists(path) ? File.ReadAllLines(path).Length : 0; }
        catch (IOException) { return 0; }
    }

    /// <summary>Starts a run and SIGKILLs it once metrics.jsonl has <paramref name="afterLines"/> lines plus a random delay.</summary>
    static void RunAndKill(string[] args, string metrics, int afterLines, Random random)
    {
        using var p = Start(args);
        var deadline = Stopwatch.StartNew();
        while (Lines(metrics) < afterLines && !p.HasExited && deadline.Elapsed < TimeSpan.FromMinutes(3)) Thread.Sleep(2);
        Thread.Sleep(random.Next(0, 40));
        Assert.False(p.HasExited, "the run finished before it could be killed; give it more steps");
        p.Kill();   // SIGKILL on Linux
        p.WaitForExit();
    }

    [Fact]
    public void Killed_twice_with_sigkill_and_resumed_equals_an_uninterrupted_run()
    {
        string root = Path.Combine(Path.GetTempPath(), "distill-resume-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(root);
        try
        {
            var (model, data) = Setup(root);
            string a = Path.Combine(root, "a"), b = Path.Combine(root, "b");
            RunToEnd(Args(model, data, a, resume: false));
            string metricsB = Path.Combine(b, Trainer.MetricsFile);
            var random = new Random();
            RunAndKill(Args(model, data, b, resume: false), metricsB, 4, random);
            RunAndKill(Args(model, data, b, resume: true), metricsB, 20, random);
            Assert.True(Directory.Exists(Path.Combine(b, TrainerCheckpoint.Folder)), "no checkpoint before the kills");
            Assert.False(Directory.Exists(Path.Combine(b, "adapter")), "the killed run must not have finished");
            RunToEnd(Args(model, data, b, resume: true));

            var ma = File.ReadAllLines(Path.Combine(a, Trainer.MetricsFile));
            var mb = File.ReadAllLines(metricsB);
            Assert.Equal(36, ma.Length);   // 48 examples / 2 = 24 micro-batches / 2 = 12 steps × 3 epochs
            Assert.Equal(ma.Select(MetricsWriter.Deterministic), mb.Select(MetricsWriter.Deterministic));
            foreach (var f in new[] { "adapter_model.safetensors", "adapter_config.json" })
                Assert.Equal(File.ReadAllBytes(Path.Combine(a, "adapter", f)), File.ReadAllBytes(Path.Combine(b, "adapter", f)));
        }
        finally { Directory.Delete(root, true); }
    }
}
