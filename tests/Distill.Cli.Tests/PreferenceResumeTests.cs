using System.Diagnostics;
using Distill.Training;

namespace Distill.Cli.Tests;

/// <summary>
/// Issue 14's crash test: `distill run recipes/smoke/dpo-kd-online.yaml` runs as a child process and is killed with
/// SIGKILL during online iteration 2 (after some of its training steps), then continued with `--resume`. Its pairs of
/// every iteration, its joined metrics.jsonl (wall-clock fields aside) and its final adapter must equal those of an
/// uninterrupted run byte for byte. Same thread count in every run (DISTILL_THREADS=2).
/// Run it alone: dotnet test tests/Distill.Cli.Tests -c Release --filter PreferenceResume
/// </summary>
public class PreferenceResumeTests
{
    static string Dll => Path.Combine(AppContext.BaseDirectory, "distill.dll");
    static readonly string Recipe = Distill.Data.RepoData.Find("..", "recipes", "smoke", "dpo-kd-online.yaml")
        ?? throw new InvalidOperationException("recipes/smoke/dpo-kd-online.yaml not found from the test's folder");

    static Process Start(string outDir, bool resume)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in new[] { Dll, "run", Recipe, "--out", outDir }) psi.ArgumentList.Add(a);
        if (resume) psi.ArgumentList.Add("--resume");
        psi.Environment["DISTILL_THREADS"] = "2";
        return Process.Start(psi)!;
    }

    static void RunToEnd(string outDir, bool resume)
    {
        using var p = Start(outDir, resume);
        var stdout = p.StandardOutput.ReadToEndAsync();
        string err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"distill run exited {p.ExitCode}: {err}\n{stdout.Result}");
    }

    static int Lines(string path)
    {
        try { return File.Exists(path) ? File.ReadAllLines(path).Length : 0; }
        catch (IOException) { return 0; }
    }

    [Fact]
    public void Killed_during_an_online_iteration_and_resumed_equals_an_uninterrupted_run()
    {
        string root = Path.Combine(Path.GetTempPath(), "distill-pref-resume-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(root);
        try
        {
            string a = Path.Combine(root, "a"), b = Path.Combine(root, "b");
            RunToEnd(a, resume: false);

            // kill -9 once iteration 2 has trained 3 steps (checkpoints every 2), at a random moment after that
            string metrics2 = Path.Combine(b, "iter-2", "train", Trainer.MetricsFile);
            using (var p = Start(b, resume: false))
            {
                _ = p.StandardOutput.ReadToEndAsync();
                _ = p.StandardError.ReadToEndAsync();
                var deadline = Stopwatch.StartNew();
                while (Lines(metrics2) < 3 && !p.HasExited && deadline.Elapsed < TimeSpan.FromMinutes(3)) Thread.Sleep(2);
                Thread.Sleep(new Random().Next(0, 40));
                Assert.False(p.HasExited, "the run finished before it could be killed");
                p.Kill();   // SIGKILL on Linux
                p.WaitForExit();
            }
            Assert.True(File.Exists(Path.Combine(b, "iter-1", "complete.json")), "iteration 1 should have finished before the kill");
            Assert.False(File.Exists(Path.Combine(b, "iter-2", "complete.json")), "the kill must land inside iteration 2");
            Assert.False(Directory.Exists(Path.Combine(b, "adapter")));
            RunToEnd(b, resume: true);

            for (int k = 1; k <= 3; k++)
                Assert.Equal(File.ReadAllText(Path.Combine(a, $"iter-{k}", "pairs.jsonl")), File.ReadAllText(Path.Combine(b, $"iter-{k}", "pairs.jsonl")));
            var ma = File.ReadAllLines(Path.Combine(a, Trainer.MetricsFile));
            var mb = File.ReadAllLines(Path.Combine(b, Trainer.MetricsFile));
            Assert.Equal(24, ma.Length);   // 3 iterations × 8 pairs at batch 1
            Assert.Equal(ma.Select(MetricsWriter.Deterministic), mb.Select(MetricsWriter.Deterministic));
            Assert.Equal(File.ReadAllText(Path.Combine(a, "iterations.jsonl")), File.ReadAllText(Path.Combine(b, "iterations.jsonl")));
            Assert.Equal(File.ReadAllBytes(Path.Combine(a, "adapter", "adapter_model.safetensors")), File.ReadAllBytes(Path.Combine(b, "adapter", "adapter_model.safetensors")));
            // the configs differ only in base_model_name_or_path, which names each run's own models/student
            Assert.Equal(File.ReadAllText(Path.Combine(a, "adapter", "adapter_config.json")).Replace(a, "RUN"),
                File.ReadAllText(Path.Combine(b, "adapter", "adapter_config.json")).Replace(b, "RUN"));
        }
        finally { Directory.Delete(root, true); }
    }
}
