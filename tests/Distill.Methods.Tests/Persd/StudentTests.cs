using Distill.Data;
using Distill.Methods.Persd;
using Distill.Models;
using Distill.Models.Formats;

namespace Distill.Methods.Tests.Persd;

/// <summary>The local student on Distill's engine: n samples, reproducible from the seed, cached by identity.</summary>
public sealed class StudentTests : IDisposable
{
    readonly string _dir = Path.Combine(Path.GetTempPath(), "persd-student-" + Guid.NewGuid().ToString("N")[..8]);

    public void Dispose() { try { Directory.Delete(_dir, true); } catch (IOException) { } }

    internal static string TinyModel(string dir)
    {
        var tokenizer = RepoData.Find("tokenizers", "gpt2", "tokenizer.json")!;
        ModelFolder.Init(ModelFolder.ResolveConfig("tiny", tokenizer), tokenizer, dir, 1, SafetensorsDType.F32);
        return dir;
    }

    [Fact]
    public async Task SamplesAreReproducibleAndCached()
    {
        var model = TinyModel(Path.Combine(_dir, "tiny"));
        using var local = new LocalCodeStudent(model);
        var prompt = LoopTests.Tasks()[0].Task.Prompt;
        var a = await local.SampleAsync(prompt, 2, 0.8f, 12, 7, default);
        var b = await local.SampleAsync(prompt, 2, 0.8f, 12, 7, default);
        Assert.Equal(2, a.Count);
        Assert.Equal(a, b);
        using var store = new PersdStore(Path.Combine(_dir, "s.sqlite"));
        var cached = new CachedCodeStudent(local, store);
        var c1 = await cached.SampleAsync(prompt, 2, 0.8f, 12, 7, default);
        var c2 = await cached.SampleAsync(prompt, 2, 0.8f, 12, 7, default);
        Assert.Equal(a, c1);
        Assert.Equal(c1, c2);
        Assert.Equal((1L, 1L), (cached.Calls, cached.CacheHits));
        await cached.SampleAsync(prompt, 2, 0.8f, 12, 8, default); // another seed is another request
        Assert.Equal(2L, cached.Calls);
    }
}
