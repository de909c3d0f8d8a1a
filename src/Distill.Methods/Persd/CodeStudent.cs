using Distill.Models;
using Distill.Models.Generation;
using Distill.Models.Lora;
using Distill.Text;

namespace Distill.Methods.Persd;

/// <summary>
/// The student as PERsD uses it: a raw code-completion model that continues a prompt (no chat
/// template), n samples per prompt at a temperature. <see cref="Identity"/> names the exact model
/// (weights and adapter), so cached samples are never mixed between two students.
/// </summary>
public interface ICodeStudent
{
    string Identity { get; }
    Task<IReadOnlyList<string>> SampleAsync(string prompt, int n, float temperature, int maxNewTokens, ulong seed, CancellationToken ct);
}

/// <summary>
/// A local model folder (optionally with a LoRA adapter) on Distill's engine through the existing
/// <see cref="Generator"/>: top-p 0.95 as the authors sample, stop strings of human-eval (a new
/// top-level def/class/if/print) so a completion ends with its function.
/// </summary>
public sealed class LocalCodeStudent : ICodeStudent, IDisposable
{
    public static readonly string[] StopStrings = ["\ndef ", "\nclass ", "\nif __name__", "\nprint(", "\n#", "\n\"\"\"", "\nassert "];

    readonly CausalLM _model;
    readonly Tokenizer _tokenizer;
    readonly SemaphoreSlim _gate = new(1, 1);

    public string Identity { get; }

    /// <param name="tokenizerDir">Where tokenizer.json is when <paramref name="dir"/> has none (a trained full-weights folder).</param>
    /// <param name="weights">the weights sampling runs on (q8: 8-bit copies of the frozen weights; the adapter stays float).</param>
    public LocalCodeStudent(string dir, string? adapter = null, string? tokenizerDir = null, InferenceWeights weights = InferenceWeights.F32)
    {
        _model = ModelIO.Load(dir);
        if (adapter is not null) LoraModel.Load(_model, adapter);
        _model.FreezeBase(); // this student only samples
        _model.UseInferenceWeights(weights);
        _tokenizer = TokenizerLoader.Load(File.Exists(Path.Combine(dir, "tokenizer.json")) || tokenizerDir is null ? dir : tokenizerDir);
        Identity = Fingerprint(dir) + (adapter is null ? "" : "+" + Fingerprint(adapter));
    }

    /// <summary>The folder's path and the size and time of each of its files: a retrained adapter is a new student.</summary>
    static string Fingerprint(string dir)
    {
        var full = Path.GetFullPath(dir);
        var files = Directory.Exists(full) ? Directory.GetFiles(full).Order(StringComparer.Ordinal).Select(f => new FileInfo(f)) : [new FileInfo(full)];
        return PersdStore.Key([full, .. files.Select(f => $"{f.Name}:{f.Length}:{f.LastWriteTimeUtc.Ticks}")])[..16];
    }

    public async Task<IReadOnlyList<string>> SampleAsync(string prompt, int n, float temperature, int maxNewTokens, ulong seed, CancellationToken ct)
    {
        var ids = _tokenizer.EncodeToIds(prompt, addSpecialTokens: true).ToArray();
        var options = new SamplingOptions
        {
            N = n, Temperature = temperature, TopP = temperature > 0 ? 0.95f : 1f, MaxNewTokens = maxNewTokens, Seed = seed,
            EosTokenIds = _model.Config.EosTokenIds, StopStrings = StopStrings,
        };
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            var completions = await Task.Run(() => Generator.Generate(_model, ids, options, x => _tokenizer.Decode(x, skipSpecialTokens: true)), ct).ConfigureAwait(false);
            return completions.Select(c => c.Text ?? "").ToList();
        }
        finally { _gate.Release(); }
    }

    public void Dispose() => _model.Dispose();
}

/// <summary>Answers from <see cref="PersdStore"/> when the same student was asked the same thing before.</summary>
public sealed class CachedCodeStudent(ICodeStudent inner, PersdStore store) : ICodeStudent, IDisposable
{
    public void Dispose() => (inner as IDisposable)?.Dispose();

    long _calls, _hits;
    public string Identity => inner.Identity;
    /// <summary>Generations run (cache misses).</summary>
    public long Calls => Interlocked.Read(ref _calls);
    public long CacheHits => Interlocked.Read(ref _hits);

    public async Task<IReadOnlyList<string>> SampleAsync(string prompt, int n, float temperature, int maxNewTokens, ulong seed, CancellationToken ct)
    {
        var key = PersdStore.Key("student-v1", inner.Identity, prompt, n.ToString(System.Globalization.CultureInfo.InvariantCulture),
            temperature.ToString("R", System.Globalization.CultureInfo.InvariantCulture), maxNewTokens.ToString(System.Globalization.CultureInfo.InvariantCulture), seed.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (store.Get<List<string>>("samples", key) is { } hit) { Interlocked.Increment(ref _hits); return hit; }
        var samples = await inner.SampleAsync(prompt, n, temperature, maxNewTokens, seed, ct).ConfigureAwait(false);
        Interlocked.Increment(ref _calls);
        store.Put("samples", key, samples.ToList());
        return samples;
    }
}
