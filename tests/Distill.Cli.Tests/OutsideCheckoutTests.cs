using System.Diagnostics;

namespace Distill.Cli.Tests;

/// <summary>
/// The CLI copied out of the repository (as a published `distill` binary would be) and run from a folder outside any
/// checkout: a PERsD recipe on the built-in task (what `distill demo` runs) must not need the repository's data/benchmarks.
/// </summary>
public class OutsideCheckoutTests
{
    [Fact]
    public async Task Persd_on_the_builtin_task_runs_from_a_copied_binary_outside_a_checkout()
    {
        string root = Path.Combine(Path.GetTempPath(), "distill-outside-" + Guid.NewGuid().ToString("N")[..10]);
        try
        {
            string app = Path.Combine(root, "app"), work = Path.Combine(root, "work");
            Directory.CreateDirectory(work);
            Copy(AppContext.BaseDirectory, app);
            for (var d = new DirectoryInfo(work); d is not null; d = d.Parent)
                Assert.False(File.Exists(Path.Combine(d.FullName, "Distill.slnx")), "the test folder must be outside a checkout");
            File.Copy(Path.Combine(CliHarness.Root(), "recipes", "smoke", "persd.yaml"), Path.Combine(work, "persd.yaml"));

            var psi = new ProcessStartInfo("dotnet") { WorkingDirectory = work, RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
            foreach (var a in new[] { Path.Combine(app, "distill.dll"), "run", "persd.yaml", "--out", "out",
                         "--set", "data.n=4", "--set", "persd.eval_tasks=1", "--set", "train.max_steps=2", "--set", "persd.seqkd_baseline=false" })
                psi.ArgumentList.Add(a);
            using var p = Process.Start(psi)!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = await p.StandardError.ReadToEndAsync();
            await p.WaitForExitAsync();
            Assert.True(p.ExitCode == 0, $"distill run exited {p.ExitCode}: {stderr}\n{await stdout}");
            Assert.DoesNotContain("benchmarks", stderr);
            Assert.True(File.Exists(Path.Combine(work, "out", "stages", "persd-data.json")));
            Assert.True(File.Exists(Path.Combine(work, "out", "stages", "persd-eval.json")));
        }
        finally { if (Directory.Exists(root)) Directory.Delete(root, recursive: true); }
    }

    static void Copy(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var f in Directory.GetFiles(from)) File.Copy(f, Path.Combine(to, Path.GetFileName(f)));
        foreach (var d in Directory.GetDirectories(from)) Copy(d, Path.Combine(to, Path.GetFileName(d)));
    }
}
