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
        string evalDir, bool resume, CancellationToken ct)
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

        var gen = new List<GenOutput>();
        var samples = new List<CodeSample>();
        var tasks = test.Select(t => t.ToCodeTask()).ToList();
        for (int i = 0; i < test.Count; i++)
        {
            ct.ThrowIfCancellationRequested();
            var ids = tokenizer.EncodeToIds(test[i].Prompt, addSpecialTokens: true).ToArray();
            var o = new SamplingOptions { N = p.EvalSamples, Temperature = (float)p.EvalTemperature, MaxNewTokens = p.MaxNewTokens, EosTokenIds = eos, Seed = (ulong)(seed * 100_003 + i) };
            var texts = Generator.Generate(model, ids, o, Decode).Select(c => c.Text ?? "").ToList();
            gen.Add(new GenOutput(test[i].TaskId, texts, []));
            samples.AddRange(texts.Select(t => new CodeSample(test[i].TaskId, CodeExtraction.Program(tasks[i], t))));
        }
        var report = await CodeEvaluator.EvaluateAsync(tasks, samples, new SandboxOptions { TimeoutSeconds = 5 }, 2, null, ct).ConfigureAwait(false);
        var byTask = report.Tasks.ToDictionary(t => t.TaskId);
        for (int i = 0; i < gen.Count; i++)
            gen[i] = gen[i] with { Passed = byTask[gen[i].TaskId].Samples.OrderBy(s => s.Index).Select(s => s.Passed).ToList() };

        var summaries = new List<string>();
        for (int i = 0; i < test.Count; i++)
        {
            ct.ThrowIfCancellationRequested();
            var prompt = (string)TaskViews.Record(test[i], TaskView.Sum)["prompt"]!;
            var ids = tokenizer.EncodeToIds(prompt, addSpecialTokens: true).ToArray();
            var o = new SamplingOptions { N = 1, Temperature = 0, MaxNewTokens = p.MaxNewTokens, EosTokenIds = eos, Seed = (ulong)i };
            summaries.Add((Generator.Generate(model, ids, o, Decode)[0].Text ?? "").Trim());
        }
        var outputs = new ModelOutputs { Name = name, Parameters = baseParams, TrainableParameters = trainable, Gen = gen, Summaries = summaries };
        Runs.RunDirectory.WriteAtomic(file, JsonSerializer.Serialize(outputs, Report.DemoResults.Json));
        return outputs;
    }
}
