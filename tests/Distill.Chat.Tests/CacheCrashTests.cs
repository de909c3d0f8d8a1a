using System.Diagnostics;
using Distill.Chat.Caching;

namespace Distill.Chat.Tests;

/// <summary>The response cache survives kill -9 of a writer in the middle of its writes.</summary>
public class CacheCrashTests
{
    [Fact]
    public async Task KillMinus9_MidWrite_LosesNoCommittedEntry_AndLeavesASoundFile()
    {
        var dir = Directory.CreateTempSubdirectory("distill-crash-");
        var db = Path.Combine(dir.FullName, "cache.sqlite");
        var writer = Path.Combine(AppContext.BaseDirectory, "CacheWriter.dll");
        Assert.True(File.Exists(writer), $"missing {writer}");
        for (int round = 0; round < 3; round++)
        {
            var psi = new ProcessStartInfo("dotnet", [writer, db]) { RedirectStandardOutput = true, UseShellExecute = false };
            using var child = Process.Start(psi)!;
            var committed = new List<string>();
            var reading = Task.Run(async () =>
            {
                while (await child.StandardOutput.ReadLineAsync() is { } line) lock (committed) committed.Add(line);
            });
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while (true)
            {
                lock (committed) if (committed.Count >= 200 * (round + 1)) break;
                Assert.True(DateTime.UtcNow < deadline, "the writer made no progress");
                await Task.Delay(20);
            }
            child.Kill(); // SIGKILL on Linux: no finally blocks, no flush
            await child.WaitForExitAsync();
            await reading;
            using var cache = new ResponseCache(db);
            Assert.Equal("ok", cache.IntegrityCheck());
            List<string> keys;
            lock (committed) keys = [.. committed];
            foreach (var k in keys) Assert.NotNull(cache.TryGet(k));
        }
        dir.Delete(true);
    }
}
