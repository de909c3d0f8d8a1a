using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using Distill.Bench;
using Distill.Cli;
using Distill.Data;
using Distill.Models.Quantization;
using Distill.Tensors.Threading;
using Spectre.Console;

namespace Distill.Bench.Cli.Commands;

/// <summary>
/// `distill bench nf4`: bytes per parameter and logit error of NF4 (QLoRA's base) against fp32, on a byte-level
/// Llama trained from scratch on MBPP (held-out tasks) and on a random-init SmolLM2-135M shape (Nf4Bench).
/// Figures and the tolerance they support: docs/models.md, "NF4".
/// </summary>
sealed class BenchNf4Command : IVerb
{
    public string? Group => "bench";

    public Command Build()
    {
        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of tables" };
        var steps = new Option<int>("--train-steps") { Description = "Training steps of the byte-level model (cached per step count)", DefaultValueFactory = _ => 600 };
        var mbpp = new Option<string?>("--mbpp") { Description = "mbpp.jsonl (default: <repo>/data/benchmarks/mbpp/mbpp.jsonl)" };
        var cache = new Option<string?>("--cache") { Description = $"Folder for the trained checkpoint (default: {Nf4Bench.DefaultCache()})" };
        var noCache = new Option<bool>("--no-cache") { Description = "Train even if a cached checkpoint exists, and do not write one" };
        var skipRandom = new Option<bool>("--skip-random") { Description = "Skip the random-init contrasts (the same shape untrained, and SmolLM2-135M's shape)" };
        var threads = BenchOptions.Threads();
        var command = new Command("nf4",
            "Measure NF4 (QLoRA) bytes per parameter and logit error against fp32 on a trained and a random-init model.\nExample: distill bench nf4 --train-steps 600 --json");
        foreach (var o in new Option[] { json, steps, mbpp, cache, noCache, skipRandom, threads }) command.Options.Add(o);
        command.SetAction(pr =>
        {
            int stepCount = pr.GetValue(steps);
            if (stepCount < 1) throw new BadInputException($"--train-steps must be at least 1, not {stepCount}");
            int threadCount = pr.GetValue(threads);
            if (threadCount < 1) throw new BadInputException($"--threads must be at least 1, not {threadCount}");
            var corpus = pr.GetValue(mbpp) ?? (RepoData.Benchmarks() is { } b ? Path.Combine(b, "mbpp", "mbpp.jsonl") : null);
            if (corpus is null || !File.Exists(corpus))
                throw new BadInputException(corpus is null ? "no --mbpp given and the repository's data/benchmarks was not found" : $"--mbpp: {corpus} not found");
            Workers.Count = threadCount;
            var log = new Progress<string>(s => Console.Error.WriteLine(s));
            var (trained, info) = Nf4Bench.Trained(corpus, stepCount, pr.GetValue(noCache) ? null : pr.GetValue(cache) ?? Nf4Bench.DefaultCache(), log);
            var sameShape = pr.GetValue(skipRandom) ? null : Nf4Bench.RandomSameShape(corpus);
            var random = pr.GetValue(skipRandom) ? null : Nf4Bench.RandomSmolLm2(log);
            if (pr.GetValue(json)) Console.WriteLine(ToJson(trained, info, sameShape, random, threadCount).ToJsonString());
            else Render(trained, info, sameShape, random, threadCount);
            return 0;
        });
        return command;
    }

    static JsonObject Figures(Nf4Fidelity f) => new()
    {
        ["positions"] = f.Positions,
        ["parameters"] = f.ModelParameters,
        ["nf4_parameters"] = f.Nf4Parameters,
        ["nf4_linear_bytes_per_param"] = Math.Round(f.LinearBytesPerParameter, 4),
        ["nf4_linear_bytes_per_param_stored"] = Math.Round(f.LinearBytesPerParameterStored, 4),
        ["model_bytes_fp32"] = f.Fp32ModelBytes,
        ["model_bytes_nf4"] = f.Nf4ModelBytes,
        ["model_bytes_per_param_nf4"] = Math.Round(f.ModelBytesPerParameter, 4),
        ["logit_rms_fp32"] = f.LogitRms,
        ["logit_rel_rms"] = f.RelativeRms,
        ["logit_max_abs"] = f.MaxAbs,
        ["mean_kl"] = f.MeanKl,
        ["max_kl"] = f.MaxKl,
        ["top1_agreement"] = f.Top1Agreement,
        ["ppl_fp32"] = f.PerplexityFp32,
        ["ppl_nf4"] = f.PerplexityNf4,
        ["ppl_ratio"] = f.PerplexityRatio,
    };

    static JsonObject ToJson(Nf4Fidelity trained, Nf4TrainInfo info, Nf4Fidelity? sameShape, Nf4Fidelity? random, int threads)
    {
        var t = Figures(trained);
        t["train"] = new JsonObject
        {
            ["steps"] = info.Steps, ["batch"] = info.Batch, ["seq_len"] = info.SeqLen, ["lr"] = info.Lr, ["seed"] = info.Seed,
            ["unigram_entropy_nats"] = info.UnigramEntropy, ["final_loss"] = info.FinalLoss, ["train_s"] = Math.Round(info.TrainSeconds, 1),
            ["from_cache"] = info.FromCache,
        };
        return new JsonObject
        {
            ["machine"] = Machine.Describe(),
            ["threads"] = threads,
            ["trained_bytellama"] = t,
            ["random_bytellama"] = sameShape is null ? null : Figures(sameShape),
            ["random_smollm2_135m"] = random is null ? null : Figures(random),
        };
    }

    static void Render(Nf4Fidelity trained, Nf4TrainInfo info, Nf4Fidelity? sameShape, Nf4Fidelity? random, int threads)
    {
        AnsiConsole.MarkupLine($"[bold]machine[/] {Markup.Escape(Machine.Describe())}   [bold]threads[/] {threads}");
        AnsiConsole.MarkupLine($"[bold]trained[/] byte-level Llama, {info.Steps} steps{(info.FromCache ? " (cached)" : $" in {info.TrainSeconds:F0} s")}: " +
            $"final train loss {info.FinalLoss:F3} nats vs unigram entropy {info.UnigramEntropy:F3}");
        var table = new Table().AddColumns("", "trained byte-Llama (held-out MBPP)", "same shape, random init", "random-init SmolLM2-135M");
        void Row(string name, Func<Nf4Fidelity, string> f)
            => table.AddRow(name, f(trained), sameShape is null ? "skipped" : f(sameShape), random is null ? "skipped" : f(random));
        Row("parameters (NF4 linears)", f => $"{f.ModelParameters:N0} ({f.Nf4Parameters:N0})");
        Row("NF4 linears, bytes/param", f => $"{f.LinearBytesPerParameter:F3} ({f.LinearBytesPerParameterStored:F3} stored)");
        Row("model weights fp32 → NF4", f => $"{f.Fp32ModelBytes / 1e6:F2} MB → {f.Nf4ModelBytes / 1e6:F2} MB ({f.ModelBytesPerParameter:F3} B/param)");
        Row("positions", f => f.Positions.ToString());
        Row("logit RMS (fp32)", f => f.LogitRms.ToString("F3"));
        Row("relative RMS ‖Δz‖/‖z‖", f => f.RelativeRms.ToString("F4"));
        Row("max |Δz|", f => f.MaxAbs.ToString("F4"));
        Row("mean KL(p_fp32‖p_nf4), nats", f => f.MeanKl.ToString("E3"));
        Row("max KL", f => f.MaxKl.ToString("E3"));
        Row("top-1 agreement", f => f.Top1Agreement.ToString("P2"));
        Row("perplexity fp32 → NF4", f => $"{f.PerplexityFp32:F3} → {f.PerplexityNf4:F3} (×{f.PerplexityRatio:F4})");
        AnsiConsole.Write(table);
    }
}
