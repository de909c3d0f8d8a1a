using System.Text.Json;
using System.Text.Json.Nodes;
using Distill.Data.BuiltInTask;
using Distill.Data.Benchmarks;
using Distill.Evaluation.Code;
using Distill.Evaluation.Sandbox;
using Distill.Models;
using Distill.Models.Generation;
using Distill.Models.Lora;
using Distill.Text;

namespace Distill.Methods.Demo;

/// <summary>What one model produced on the test shard: n code samples per problem with their sandbox verdicts, and one summary per problem.</summary>
public sealed record ModelOutputs
{
    public required string Name { get; init; }
    public long Parameters { get; init; }
    public long TrainableParameters { get; init; }
    public List<GenOutput> Gen { get; init; } = [];
    public List<string> Summaries { get; init; } = [];
}

public sealed record GenOutput(string TaskId, List<string> Completions, List<bool> Passed)
{
    public int C => Passed.Count(p => p);
}

/// <summary>
/// Runs one model on the test shard: the gen view sampled n times per problem (pass@k, Chen et al. 2021's unbiased
/// estimator), each sample run against the hidden tests in the sandbox; the sum view decoded greedily (ROUGE, judge,
/// reward model). Outputs are kept in DIR/eval/NAME.json so a resumed demo scores nothing twice.
/// </summary>
public static class DemoEvaluation
{
    public static async Task<ModelOutputs> RunAsync(string name, string modelDir, string? adapterDir, IReadOnlyList<Problem> test, DemoPreset p, int seed,
        string evalDir, bool resume, CancellationToken ct, IProgress<Runs.RunProgressEvent>? progress = null)
    {
        var file = Path.Combine(evalDir, name + ".json");
        if (resume && File.Exists(file)) return JsonSerializer.Deserialize<ModelOutputs>(File.ReadAllText(file), Report.DemoResults.Json)!;
        Directory.CreateDirectory(evalDir);
        using var model = ModelIO.Load(modelDir);
        long baseParams = model.ParameterCount, trainable = baseParams;
        if (adapterDir is not null)
        {
            LoraModel.Load(model, adapterDir);
            trainable = LoraModel.Branches(model).Sum(b => (long)b.A.Length + b.B.Length);
        }
        var tokenizer = TokenizerLoader.Load(modelDir);
        var eos = model.Config.EosTokenIds;
        string Decode(int[] ids) => tokenizer.Decode(ids, skipSpecialTokens: true);

        // progress: problems done of the test shard, and the tokens/s the model generates
        var clock = System.Diagnostics.Stopwatch.StartNew();
        long generated = 0;
        void Work(string what, int done, int total, string unit = "problems", bool tokens = true)
            => progress?.Report(new Runs.WorkProgress(0, $"{name}: {what}", done, total, unit, tokens && generated > 0 ? generated / Math.Max(1e-3, clock.Elapsed.TotalSeconds) : null));

        var gen = await GenerateAndTestAsync(model, tokenizer, test, p, seed, ct, (what, done, total, unit, tokens, n) => { generated += n; Work(what, done, total, unit, tokens); }).ConfigureAwait(false);

        var summaries = new List<string>();
        clock.Restart();
        generated = 0;
        Work("summaries (greedy)", 0, test.Count);
        for (int i = 0; i < test.Count; i++)
        {
            ct.ThrowIfCancellationRequested();
            var prompt = (string)TaskViews.Record(test[i], TaskView.Sum)["prompt"]!;
            var ids = tokenizer.EncodeToIds(prompt, addSpecialTokens: true).ToArray();
            var o = new SamplingOptions { N = 1, Temperature = 0, MaxNewTokens = p.MaxNewTokens, EosTokenIds = eos, Seed = (ulong)i };
            var c = Generator.Generate(model, ids, o, Decode)[0];
            generated += c.Ids.Length;
            summaries.Add((c.Text ?? "").Trim());
            Work("summaries (greedy)", i + 1, test.Count);
        }
        var outputs = new ModelOutputs { Name = name, Parameters = baseParams, TrainableParameters = trainable, Gen = gen, Summaries = summaries };
        Runs.RunDirectory.WriteAtomic(file, JsonSerializer.Serialize(outputs, Report.DemoResults.Json));
        return outputs;
    }

    /// <summary>
    /// The gen view alone: <see cref="DemoPreset.EvalSamples"/> samples per test problem at the preset's temperature (seed
    /// per problem), each run against the hidden tests in the sandbox. `distill bench quant-accuracy` scores a model's
    /// inference formats through this same path, so its pass@1 is the demo's.
    /// </summary>
    /// <param name="work">progress: (what, done, total, unit, tokens/s meaningful, tokens generated since the last call)</param>
    public static async Task<List<GenOutput>> GenerateAndTestAsync(CausalLM model, Tokenizer tokenizer, IReadOnlyList<Problem> test, DemoPreset p, int seed,
        CancellationToken ct, Action<string, int, int, string, bool, long>? work = null)
    {
        var eos = model.Config.EosTokenIds;
        string Decode(int[] ids) => tokenizer.Decode(ids, skipSpecialTokens: true);
        string what = $"code generation ({p.EvalSamples} samples each)";
        var gen = new List<GenOutput>();
        var samples = new List<CodeSample>();
        var tasks = test.Select(t => t.ToCodeTask()).ToList();
        work?.Invoke(what, 0, test.Count, "problems", true, 0);
        for (int i = 0; i < test.Count; i++)
        {
            ct.ThrowIfCancellationRequested();
            var ids = tokenizer.EncodeToIds(test[i].Prompt, addSpecialTokens: true).ToArray();
            var o = new SamplingOptions { N = p.EvalSamples, Temperature = (float)p.EvalTemperature, MaxNewTokens = p.MaxNewTokens, EosTokenIds = eos, Seed = (ulong)(seed * 100_003 + i) };
            var completions = Generator.Generate(model, ids, o, Decode);
            var texts = completions.Select(c => c.Text ?? "").ToList();
            work?.Invoke(what, i + 1, test.Count, "problems", true, completions.Sum(c => (long)c.Ids.Length));
            gen.Add(new GenOutput(test[i].TaskId, texts, []));
            samples.AddRange(texts.Select(t => new CodeSample(test[i].TaskId, CodeExtraction.Program(tasks[i], t))));
        }
        int tested = 0;
        work?.Invoke("sandbox (hidden tests)", 0, samples.Count, "samples", false, 0);
        var sandboxProgress = work is null ? null : Runs.RunProgress.Of<SampleResult>(_ => work("sandbox (hidden tests)", Interlocked.Increment(ref tested), samples.Count, "samples", false, 0));
        var report = await CodeEvaluator.EvaluateAsync(tasks, samples, new SandboxOptions { TimeoutSeconds = 5 }, 2, sandboxProgress, ct).ConfigureAwait(false);
        var byTask = report.Tasks.ToDictionary(t => t.TaskId);
        for (int i = 0; i < gen.Count; i++)
            gen[i] = gen[i] with { Passed = byTask[gen[i].TaskId].Samples.OrderBy(s => s.Index).Select(s => s.Passed).ToList() };
        return gen;
    }
}
