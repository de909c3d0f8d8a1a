using System.CommandLine;
using System.Globalization;
using Distill.Cli;
using Distill.Data.BuiltInTask;
using Distill.Evaluation.Code;
using Distill.Evaluation.Sandbox;
using Distill.Methods.Demo;
using Distill.Models;
using Distill.Models.Generation;
using Distill.Tensors.Autograd;
using Distill.Tensors.Threading;
using Distill.Text;

namespace Distill.Bench.Cli.Commands;

/// <summary>
/// `distill bench quant-accuracy`: issue 19's accuracy check of the inference weights on a model trained from scratch
/// (the demo's teacher, DIR/runs/base/models/teacher). On the built-in task's test shard, as the demo draws it (preset
/// and seed): (a) max |Δlogit| against f32 over every test prompt (gen and sum views), (b) greedy decoding: the share of
/// next tokens equal to f32's (teacher-forced on f32's continuation) and of tokens generated before the first divergence,
/// (c) pass@1 with the demo's sampling (same seeds for every format), its seeded 95 % bootstrap interval, and the paired
/// bootstrap interval of the change against f32 (per-problem pass@1). Figures: docs/performance.md, issue 19.
/// </summary>
sealed class BenchQuantAccuracyCommand : IVerb
{
    public string? Group => "bench";

    public Command Build()
    {
        var model = new Option<string>("--model") { Description = "A causal LM folder with tokenizer.json (the demo's teacher: DEMO/runs/base/models/teacher)", Required = true };
        var preset = new Option<string>("--preset") { Description = "Demo preset the test shard and sampling come from (quick|standard)", DefaultValueFactory = _ => "standard" };
        var seed = new Option<int>("--seed") { Description = "Demo seed (test shard and sampling seeds)", DefaultValueFactory = _ => 0 };
        var weights = new Option<string>("--weights") { Description = "Formats compared with f32 (comma-separated)", DefaultValueFactory = _ => "q8,bf16,q8row" };
        var threads = BenchOptions.Threads();
        var command = new Command("quant-accuracy", "Accuracy of q8 / bf16 / q8row inference weights against f32 on a trained model: max |Δlogit|, greedy agreement, pass@1 with its CI.\n"
            + "Example: distill bench quant-accuracy --model runs/demo/runs/base/models/teacher --preset standard --seed 0");
        foreach (var o in new Option[] { model, preset, seed, weights, threads }) command.Options.Add(o);
        command.SetAction(pr =>
        {
            DemoPreset p;
            try { p = DemoPreset.Get(pr.GetValue(preset)!); }
            catch (ArgumentException e) { throw new BadInputException(e.Message); }
            InferenceWeights[] ws;
            try { ws = pr.GetValue(weights)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(InferenceWeightsNames.Parse).Where(w => w != InferenceWeights.F32).ToArray(); }
            catch (ArgumentException e) { throw new BadInputException("--weights: " + e.Message); }
            string dir = pr.GetValue(model)!;
            if (!File.Exists(Path.Combine(dir, "tokenizer.json"))) throw new BadInputException($"--model {dir}: no tokenizer.json");
            Workers.Count = pr.GetValue(threads);
            Run(dir, p, pr.GetValue(seed), ws);
            return 0;
        });
        return command;
    }

    static string F(double v) => v.ToString("0.0###", CultureInfo.InvariantCulture);

    static void Run(string dir, DemoPreset p, int seed, InferenceWeights[] formats)
    {
        var test = TaskGenerator.Generate(Shard.Test, p.TestProblems, (ulong)seed, p.MaxDifficulty);
        using var model = ModelIO.Load(dir);
        model.FreezeBase();
        var tokenizer = TokenizerLoader.Load(dir);
        var eos = model.Config.EosTokenIds;
        int vocab = model.Config.VocabSize;
        var genPrompts = test.Select(t => tokenizer.EncodeToIds(t.Prompt, addSpecialTokens: true).ToArray()).ToList();
        var sumPrompts = test.Select(t => tokenizer.EncodeToIds((string)TaskViews.Record(t, TaskView.Sum)["prompt"]!, addSpecialTokens: true).ToArray()).ToList();
        var all = genPrompts.Concat(sumPrompts).ToList();
        Console.WriteLine($"model {dir}: {model.Config.Architecture}, {model.ParameterCount / 1e6:F2} M parameters; test shard: {test.Count} problems (preset {p.Name}, seed {seed}); " +
                          $"pass@1 from {p.EvalSamples} samples at T = {p.EvalTemperature}, {p.MaxNewTokens} new tokens, {p.BootstrapResamples} bootstrap resamples");

        float[] Logits(int[] ids)
        {
            using var tape = new Tape { NoGrad = true, InferenceWeights = true };
            return model.Forward(tape, ids, 1).Span.ToArray();
        }
        static int Argmax(ReadOnlySpan<float> z) { int b = 0; for (int i = 1; i < z.Length; i++) if (z[i] > z[b]) b = i; return b; }
        var greedy = new SamplingOptions { N = 1, Temperature = 0, MaxNewTokens = p.MaxNewTokens, EosTokenIds = eos };

        // f32 reference
        model.UseInferenceWeights(InferenceWeights.F32);
        var refLogits = all.Select(Logits).ToList();
        double maxLogit = refLogits.Max(z => z.Max(Math.Abs));
        var refGreedy = genPrompts.Select(ids => Generator.Generate(model, ids, greedy)[0].Ids).ToList();
        // teacher-forced on f32's greedy continuation: the next-token argmax at every generated position
        var refForced = genPrompts.Select((ids, i) => Logits([.. ids, .. refGreedy[i]])).ToList();
        var refPass = PassAt1(model, tokenizer, test, p, seed);
        var refEst = Bootstrap.Mean(refPass, p.BootstrapResamples, seed + 1);
        Console.WriteLine($"f32: pass@1 {F(refEst.Mean)} (95% CI {F(refEst.Lo ?? 0)}..{F(refEst.Hi ?? 0)}), max |logit| {maxLogit:F2}");

        foreach (var w in formats)
        {
            var report = model.UseInferenceWeights(w);
            double maxAbs = 0;
            for (int i = 0; i < all.Count; i++)
            {
                maxAbs = Math.Max(maxAbs, MaxDiff(Logits(all[i]), refLogits[i]));
            }
            int agree = 0, positions = 0, prefix = 0, total = 0, identical = 0;
            for (int i = 0; i < genPrompts.Count; i++)
            {
                int[] seq = [.. genPrompts[i], .. refGreedy[i]];
                var z = Logits(seq);
                for (int t = genPrompts[i].Length - 1; t < seq.Length - 1; t++)
                {
                    positions++;
                    if (Argmax(z.AsSpan(t * vocab, vocab)) == Argmax(refForced[i].AsSpan(t * vocab, vocab))) agree++;
                    maxAbs = Math.Max(maxAbs, MaxDiff(z.AsSpan(t * vocab, vocab), refForced[i].AsSpan(t * vocab, vocab)));
                }
                var g = Generator.Generate(model, genPrompts[i], greedy)[0].Ids;
                total += refGreedy[i].Length;
                prefix += g.Zip(refGreedy[i]).TakeWhile(x => x.First == x.Second).Count();
                if (g.SequenceEqual(refGreedy[i])) identical++;
            }
            var pass = PassAt1(model, tokenizer, test, p, seed);
            var est = Bootstrap.Mean(pass, p.BootstrapResamples, seed + 1);
            var d = Bootstrap.PairedDifference(pass, refPass, p.BootstrapResamples, seed + 7);
            string inside = d.Lo <= 0 && d.Hi >= 0 ? "inside: the paired 95% CI of the change includes 0" : "OUTSIDE: the paired 95% CI of the change excludes 0";
            bool withinF32Ci = est.Mean >= (refEst.Lo ?? 0) && est.Mean <= (refEst.Hi ?? 1);
            Console.WriteLine($"{w.Name()}: {report}");
            Console.WriteLine($"  (a) max |Δlogit| vs f32 {maxAbs:F4} (max |logit| {maxLogit:F2})");
            Console.WriteLine($"  (b) greedy: next-token agreement {(double)agree / Math.Max(1, positions):P2} of {positions} positions (teacher-forced on f32's greedy output); " +
                              $"{(double)prefix / Math.Max(1, total):P1} of tokens before the first divergence, {identical}/{genPrompts.Count} continuations identical");
            Console.WriteLine($"  (c) pass@1 {F(est.Mean)} (95% CI {F(est.Lo ?? 0)}..{F(est.Hi ?? 0)}); change vs f32 {d.Mean:+0.0000;-0.0000;0.0000} " +
                              $"(paired 95% CI {F(d.Lo ?? 0)}..{F(d.Hi ?? 0)}): {inside}; {(withinF32Ci ? "within" : "outside")} f32's 95% CI");
        }
        model.UseInferenceWeights(InferenceWeights.F32);
    }

    static double MaxDiff(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double m = 0;
        for (int i = 0; i < a.Length; i++) m = Math.Max(m, Math.Abs(a[i] - b[i]));
        return m;
    }

    /// <summary>Per-problem pass@1 (unbiased estimator over the demo's n samples), through the demo's own gen-view evaluation.</summary>
    static List<double> PassAt1(CausalLM model, Tokenizer tokenizer, IReadOnlyList<Problem> test, DemoPreset p, int seed) =>
        DemoEvaluation.GenerateAndTestAsync(model, tokenizer, test, p, seed, CancellationToken.None).GetAwaiter().GetResult()
            .Select(g => PassAtK.Estimate(g.Passed.Count, g.C, 1)).ToList();
}
