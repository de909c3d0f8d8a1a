using System.Diagnostics;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;

namespace Distill.Cli.Tests;

/// <summary>
/// PERsD's crash test (issue 15 §3): `distill run recipes/smoke/persd.yaml` runs as a child process and is killed with
/// SIGKILL in the middle of its persd-data stage (after the teacher has answered at least twice), then resumed with
/// --resume. The stored sandbox verdicts and teacher answers at the moment of the kill, plus what the resumed run had
/// to ask for, must equal what an uninterrupted run asks for: no execution and no teacher call is made twice.
/// </summary>
public class PersdKillTests
{
    static string Dll => Path.Combine(AppContext.BaseDirectory, "distill.dll");
    static string Recipe => Path.Combine(CliHarness.Root(), "recipes", "smoke", "persd.yaml");

    static Process Start(string outDir, bool resume)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in new[] { Dll, "run", Recipe, "--out", outDir }) psi.ArgumentList.Add(a);
        if (resume) psi.ArgumentList.Add("--resume");
        return Process.Start(psi)!;
    }

    static void RunToEnd(string outDir, bool resume)
    {
        using var p = Start(outDir, resume);
        var output = p.StandardOutput.ReadToEndAsync();
        string err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"distill run exited {p.ExitCode}: {err}\n{output.Result}");
    }

    static long Rows(string db, string table)
    {
        if (!File.Exists(db)) return 0;
        try
        {
            using var c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = db, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = $"SELECT COUNT(*) FROM {table}";
            return (long)cmd.ExecuteScalar()!;
        }
        catch (SqliteException) { return 0; } // the table is not created yet
    }

    static JsonNode Details(string run) => JsonNode.Parse(File.ReadAllText(Path.Combine(run, "stages", "persd-data.json")))!["details"]!;

    [Fact]
    public void Killed_mid_loop_and_resumed_repeats_no_execution_and_no_teacher_call()
    {
        string root = Path.Combine(Path.GetTempPath(), "distill-persd-kill-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(root);
        try
        {
            string a = Path.Combine(root, "a"), b = Path.Combine(root, "b");
            RunToEnd(a, resume: false);
            long executionsA = (long)Details(a)["executions"]!, teacherA = (long)Details(a)["teacher_cache_misses"]!;
            Assert.True(teacherA >= 4, $"the clean run asked the teacher {teacherA} times; the test needs a few");

            using (var p = Start(b, resume: false))
            {
                _ = p.StandardOutput.ReadToEndAsync();
                _ = p.StandardError.ReadToEndAsync();
                var clock = Stopwatch.StartNew();
                while (Rows(Path.Combine(b, "cache.sqlite"), "responses") < 2 && !p.HasExited && clock.Elapsed < TimeSpan.FromMinutes(3)) Thread.Sleep(10);
                Assert.False(p.HasExited, "the run ended before it could be killed");
                p.Kill();   // SIGKILL on Linux
                p.WaitForExit();
            }
            Assert.False(File.Exists(Path.Combine(b, "stages", "persd-data.json")), "the kill must land inside persd-data");
            long executions1 = Rows(Path.Combine(b, "persd.sqlite"), "executions"), teacher1 = Rows(Path.Combine(b, "cache.sqlite"), "responses");
            Assert.True(teacher1 >= 2 && teacher1 < teacherA, $"{teacher1} of {teacherA} teacher answers stored at the kill");

            RunToEnd(b, resume: true);
            long executions2 = (long)Details(b)["executions"]!, teacher2 = (long)Details(b)["teacher_cache_misses"]!;
            Assert.Equal(teacherA, teacher1 + teacher2);       // every answer stored before the kill came from the cache
            Assert.Equal(executionsA, executions1 + executions2); // every verdict stored before the kill came from the cache
            Assert.Equal(File.ReadAllText(Path.Combine(a, "data", "persd-attempts.jsonl")), File.ReadAllText(Path.Combine(b, "data", "persd-attempts.jsonl")));
        }
        finally { Directory.Delete(root, true); }
    }
}
