using System.Diagnostics;

namespace Distill.Cli.Tests;

/// <summary>
/// `distill demo --preset quick` as a child process, sent SIGTERM while the teacher trains in the base stage: it must stop
/// within seconds (the cancellation reaches the Trainer, which checkpoints at the step boundary), exit 143 with a message
/// naming --resume, and keep what was done; `--resume` then continues the teacher's fine-tuning from that checkpoint
/// (not from step 0) and finishes the demo.
/// </summary>
public class DemoInterruptTests
{
    static string Dll => Path.Combine(AppContext.BaseDirectory, "distill.dll");
    static int Steps => Distill.Methods.Demo.DemoPreset.Quick.TeacherSteps;

    static Process Start(string outDir, bool resume)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in new[] { Dll, "demo", "--preset", "quick", "--out", outDir }) psi.ArgumentList.Add(a);
        if (resume) psi.ArgumentList.Add("--resume");
        return Process.Start(psi)!;
    }

    static int Lines(string path)
    {
        try { return File.Exists(path) ? File.ReadAllLines(path).Count(l => l.Length > 0) : 0; }
        catch (IOException) { return 0; }
    }

    [Fact]
    public async Task Sigterm_during_base_training_stops_in_seconds_and_resume_finishes()
    {
        string dir = Path.Combine(Path.GetTempPath(), "distill-demo-term-" + Guid.NewGuid().ToString("N")[..10]);
        string teacherSft = Path.Combine(dir, "runs", "base", "models", "teacher-sft");
        try
        {
            Stopwatch stopClock;
            string err;
            int exit;
            using (var p = Start(dir, resume: false))
            {
                var stdout = p.StandardOutput.ReadToEndAsync();
                var stderr = p.StandardError.ReadToEndAsync();
                var clock = Stopwatch.StartNew();
                while (Lines(Path.Combine(teacherSft, "metrics.jsonl")) < 2 && !p.HasExited && clock.Elapsed < TimeSpan.FromMinutes(3)) await Task.Delay(5);
                Assert.False(p.HasExited, $"the demo ended before the teacher trained: {(p.HasExited ? await stderr : "")}");
                using (var kill = Process.Start("kill", ["-TERM", p.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])) kill.WaitForExit();
                stopClock = Stopwatch.StartNew();
                using (var limit = new CancellationTokenSource(TimeSpan.FromSeconds(20)))
                    try { await p.WaitForExitAsync(limit.Token); }
                    catch (OperationCanceledException) { Assert.Fail("the demo did not stop within 20 s of SIGTERM"); }
                exit = p.ExitCode;
                err = await stderr;
                _ = await stdout;
            }
            Assert.True(stopClock.Elapsed < TimeSpan.FromSeconds(20));
            Assert.Equal(143, exit);
            Assert.Contains("--resume", err);
            Assert.Contains("distill demo --preset quick", err);
            // the kill landed inside the base run's models stage, and its progress is kept in a checkpoint
            Assert.False(File.Exists(Path.Combine(dir, "runs", "base", "stages", "models.json")), "SIGTERM must land in the base stage's teacher training");
            var checkpoints = Directory.GetDirectories(Path.Combine(teacherSft, "checkpoints"));
            Assert.NotEmpty(checkpoints);
            int stoppedAt = Lines(Path.Combine(teacherSft, "metrics.jsonl"));
            Assert.InRange(stoppedAt, 2, Steps - 1);

            using (var p = Start(dir, resume: true))
            {
                var stdout = p.StandardOutput.ReadToEndAsync();
                var stderr = p.StandardError.ReadToEndAsync();
                await p.WaitForExitAsync();
                string o = await stdout, e = await stderr;
                Assert.True(p.ExitCode == 0, $"resumed demo exited {p.ExitCode}: {e}\n{o}");
                Assert.Contains("(resuming)", o);
            }
            Assert.True(File.Exists(Path.Combine(dir, "results.json")));
            Assert.True(File.Exists(Path.Combine(dir, "report.html")));
            // the teacher's fine-tuning continued from its checkpoint: its metrics hold each step once
            var steps = File.ReadAllLines(Path.Combine(teacherSft, "metrics.jsonl")).Where(l => l.Length > 0)
                .Select(l => (int)System.Text.Json.Nodes.JsonNode.Parse(l)!["step"]!).ToList();
            Assert.Equal(Enumerable.Range(1, Steps), steps);
            var log = File.ReadAllText(Path.Combine(dir, "runs", "base", "run.log"));
            Assert.Contains("teacher: fine-tuning resumed from step", log);
        }
        finally { if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true); }
    }
}
