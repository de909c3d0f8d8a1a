using System.Diagnostics;
using System.Text.Json;
using Distill.Models;
using Distill.Models.Quantization;
using Distill.Tensors;
using Distill.Training;

namespace Distill.Bench.Cli;

/// <summary>What the trained model learned before it was quantized.</summary>
public sealed record Nf4TrainInfo(int Steps, int Batch, int SeqLen, float Lr, ulong Seed, double UnigramEntropy, double FinalLoss, double TrainSeconds, bool FromCache);

/// <summary>
/// `distill bench nf4`: NF4 fidelity on a model that has learned something and, for contrast, on a random-init
/// model of SmolLM2-135M's shape. The trained model is a byte-level Llama (hidden 256, 4 layers, 8 heads, 4 KV heads,
/// SwiGLU 688, tied embeddings, ≈ 2.9 M parameters) trained from scratch on MBPP's training tasks
/// (<see cref="ScratchTraining"/>), cached as a Hugging Face folder so reruns skip training; both are measured by
/// <see cref="Nf4Fidelity"/>, the trained one on MBPP's held-out tasks. Figures and discussion: docs/models.md.
/// </summary>
public static class Nf4Bench
{
    public const int Batch = 16, SeqLen = 128, Window = 128, Windows = 32;
    public const float Lr = 2e-3f;
    public const ulong InitSeed = 1, DataSeed = 7;

    public static ModelConfig TrainedShape => ScratchTraining.ByteLlama(hidden: 256, layers: 4, heads: 8, kvHeads: 4, intermediate: 688);

    /// <summary>Trains (or loads from <paramref name="cacheRoot"/>) the byte-level model, then measures it on held-out MBPP.</summary>
    public static (Nf4Fidelity Fidelity, Nf4TrainInfo Train) Trained(string mbppJsonl, int steps, string? cacheRoot, IProgress<string>? log)
    {
        var (train, heldOut) = ScratchTraining.MbppBytes(mbppJsonl);
        double unigram = ScratchTraining.UnigramEntropy(train);
        string? dir = cacheRoot is null ? null : Path.Combine(cacheRoot, $"bytellama-256x4-s{steps}-b{Batch}x{SeqLen}-seed{InitSeed}.{DataSeed}");
        var infoPath = dir is null ? null : Path.Combine(dir, "train_info.json");
        CausalLM model;
        Nf4TrainInfo info;
        if (infoPath is not null && File.Exists(infoPath) && File.Exists(Path.Combine(dir!, "config.json")))
        {
            log?.Report($"loading the trained model from {dir}");
            model = ModelIO.Load(dir!);
            info = JsonSerializer.Deserialize<Nf4TrainInfo>(File.ReadAllText(infoPath))! with { FromCache = true };
        }
        else
        {
            model = ModelIO.Create(TrainedShape);
            ModelInit.Initialize(model, InitSeed);
            log?.Report($"training {model.ParameterCount:N0} parameters for {steps} steps on {train.Length:N0} bytes (unigram entropy {unigram:F3} nats)");
            var sw = Stopwatch.StartNew();
            var losses = ScratchTraining.Train(model, train, steps, Batch, SeqLen, Lr, DataSeed, log);
            double final = losses.TakeLast(Math.Min(50, steps)).Average(l => (double)l);
            info = new Nf4TrainInfo(steps, Batch, SeqLen, Lr, DataSeed, unigram, final, sw.Elapsed.TotalSeconds, false);
            if (dir is not null)
            {
                ModelIO.Save(model, dir);
                File.WriteAllText(infoPath!, JsonSerializer.Serialize(info));
                log?.Report($"cached in {dir}");
            }
        }
        using (model)
        {
            var fidelity = Nf4Fidelity.Measure(model, heldOut.Select(b => (int)b).ToArray(), Window, Windows);
            return (fidelity, info);
        }
    }

    /// <summary>The trained model's shape and held-out windows, before training (init seed 1): separates training from shape.</summary>
    public static Nf4Fidelity RandomSameShape(string mbppJsonl)
    {
        var (_, heldOut) = ScratchTraining.MbppBytes(mbppJsonl);
        using var model = ModelIO.Create(TrainedShape);
        ModelInit.Initialize(model, InitSeed);
        return Nf4Fidelity.Measure(model, heldOut.Select(b => (int)b).ToArray(), Window, Windows);
    }

    /// <summary>SmolLM2-135M's shape, random init (transformers' _init_weights, seed 1), on 2 windows of 64 seeded random token ids.</summary>
    public static Nf4Fidelity RandomSmolLm2(IProgress<string>? log)
    {
        var config = ModelPresets.Get("smollm2-135m") with { TorchDType = "float32" };
        using var model = ModelIO.Create(config);
        ModelInit.Initialize(model, 1);
        log?.Report($"smollm2-135m random init: {model.ParameterCount:N0} parameters");
        var rng = new Rng(3);
        var ids = new int[2 * 64 + 1];
        for (int i = 0; i < ids.Length; i++) ids[i] = rng.NextInt(config.VocabSize);
        return Nf4Fidelity.Measure(model, ids, 64, 2);
    }

    /// <summary>Default cache: $XDG_CACHE_HOME/distill/nf4-bench or ~/.cache/distill/nf4-bench.</summary>
    public static string DefaultCache()
    {
        var root = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        if (string.IsNullOrEmpty(root)) root = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        return Path.Combine(root, "distill", "nf4-bench");
    }
}
