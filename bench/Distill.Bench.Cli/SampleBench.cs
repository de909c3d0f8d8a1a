using System.Text.Json.Nodes;
using Distill.Models;
using Distill.Models.Generation;
using Distill.Models.Lora;
using Distill.Tensors;
using Distill.Tensors.Kernels;

namespace Distill.Bench.Cli;

/// <summary>
/// `distill bench sample`: the student's batched sampling through <see cref="BatchSampler"/> on the SmolLM2-135M
/// shape (random weights, seed 1) with a LoRA adapter r 8 (alpha 16) on q,k,v,o whose B matrices are random (a
/// trained-looking adapter, so its branch is real work), P prompts of a fixed mix of lengths 64–128 (random ids,
/// seed 5) × N samples × K new tokens; temperature 1, top-k 50, top-p 0.95, no EOS (every row generates K tokens,
/// as on the PyTorch side). Tokens/s = generated tokens / (prefill + decode) wall time; ms per decode step = median.
/// The PyTorch reference doing the same work on the same weights is bench/scripts/sample_torch.py.
/// </summary>
public static class SampleBench
{
    public const int LoraR = 8, MinPrompt = 64, MaxPrompt = 128;
    public static readonly SamplingOptions Options = new() { Temperature = 1f, TopK = 50, TopP = 0.95f, Seed = 1 };

    public sealed record Result(int Prompts, int Samples, int NewTokens, long Tokens, long PromptTokens, double PrefillSeconds, double DecodeSeconds,
        double MsPerStep, int[] GreedyPrompt0, double GemmGflop)
    {
        /// <summary>The goal of issue 13 §4: Distill's tokens/s at least this many times PyTorch's.</summary>
        public const double Goal = 3.0;

        public double TokensPerSecond => Tokens / (PrefillSeconds + DecodeSeconds);
    }

    /// <summary>Prompt i has 64 + (41·i mod 65) tokens: a fixed mix over 64–128 (mean ≈ 96).</summary>
    public static int PromptLength(int i) => MinPrompt + 41 * i % (MaxPrompt - MinPrompt + 1);

    /// <summary>Prompts of <see cref="PromptLength"/> random ids (seed 5).</summary>
    public static List<int[]> Prompts(int count, int vocab)
    {
        var rng = new Rng(5);
        return Enumerable.Range(0, count).Select(i => Enumerable.Range(0, PromptLength(i)).Select(_ => rng.NextInt(vocab)).ToArray()).ToList();
    }

    public static CausalLM Student(out LoraConfig lora)
    {
        var config = ModelPresets.Get("smollm2-135m") with { TorchDType = "float32" };
        var model = ModelIO.Create(config);
        ModelInit.Initialize(model, 1);
        lora = new LoraConfig { R = LoraR, LoraAlpha = 16, TargetModules = ["q_proj", "k_proj", "v_proj", "o_proj"] };
        var rng = new Rng(2);
        foreach (var b in LoraModel.Apply(model, lora, 2))
            for (int i = 0; i < b.B.Length; i++) b.B.Span[i] = 0.02f * (rng.NextFloat() - 0.5f);
        return model;
    }

    /// <summary>Writes what sample_torch.py reads: model/ (config.json, model.safetensors), adapter/ (PEFT), prompts.json.</summary>
    public static void Export(CausalLM model, LoraConfig lora, List<int[]> prompts, int samples, int newTokens, string dir)
    {
        ModelIO.Save(model, Path.Combine(dir, "model"));
        LoraModel.Save(model, lora, Path.Combine(dir, "adapter"));
        var o = Options;
        var doc = new JsonObject
        {
            ["prompts"] = new JsonArray(prompts.Select(p => (JsonNode)new JsonArray(p.Select(t => (JsonNode)t).ToArray())).ToArray()),
            ["samples"] = samples, ["new_tokens"] = newTokens, ["temperature"] = o.Temperature, ["top_k"] = o.TopK, ["top_p"] = o.TopP, ["seed"] = (long)o.Seed,
        };
        File.WriteAllText(Path.Combine(dir, "prompts.json"), doc.ToJsonString());
    }

    public static Result Measure(CausalLM model, List<int[]> prompts, int samples, int newTokens, int check, IProgress<string>? log = null)
    {
        // warm-up (JIT, arenas) through the same path, then the cross-check's greedy tokens of prompt 0
        BatchSampler.Generate(model, prompts.Take(2).ToList(), Options with { N = 2, MaxNewTokens = 2 });
        int[] greedy = check > 0 ? BatchSampler.Generate(model, [prompts[0]], new SamplingOptions { Temperature = 0, MaxNewTokens = check })[0][0].Ids : [];
        var stats = new BatchSamplingStats();
        GemmWork.Reset();
        GemmWork.Counting = true; // the run's matrix products (a static branch per product when off)
        var result = BatchSampler.Generate(model, prompts, Options with { N = samples, MaxNewTokens = newTokens }, maxRows: Math.Max(samples, prompts.Count * samples), stats: stats);
        GemmWork.Counting = false;
        long tokens = result.Sum(r => r.Sum(c => (long)c.Ids.Length));
        if (tokens != (long)prompts.Count * samples * newTokens) throw new InvalidOperationException($"bench sample: {tokens} tokens generated, expected {prompts.Count}×{samples}×{newTokens}");
        var steps = stats.StepSeconds.Order().ToArray();
        log?.Report($"prefill {stats.PrefillSeconds:F2} s, decode {stats.DecodeSeconds:F2} s over {steps.Length} steps, of which sampling (filters + draws) {stats.SamplingSeconds:F2} s; " +
            $"process CPU: prefill {stats.PrefillCpuSeconds:F2} s, decode {stats.DecodeCpuSeconds:F2} s");
        return new Result(prompts.Count, samples, newTokens, tokens, stats.PromptTokens, stats.PrefillSeconds, stats.DecodeSeconds,
            steps[steps.Length / 2] * 1000, greedy, GemmWork.Flops / 1e9);
    }
}
