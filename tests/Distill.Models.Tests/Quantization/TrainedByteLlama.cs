using Distill.Training;

namespace Distill.Models.Tests.Quantization;

/// <summary>
/// The byte-level Llama of <see cref="Nf4TrainedModelTests"/> and <see cref="Q8InferenceTests"/> (hidden 64, 2 layers,
/// ≈ 0.1 M parameters), trained once per test run from scratch on MBPP's training tasks (300 steps): four tests measure
/// a quantization of the same trained weights, and training is deterministic (same init seed, data and schedule), so
/// training it once per test gave the same weights four times over (≈ 30 s of CPU each). Every test gets its own
/// <see cref="CausalLM"/> holding a copy of the weights, since the tests quantize, freeze or adapt it in place.
/// Trained on one worker thread: a model this small runs kernels shorter than a hand-off between threads, and the
/// test host runs other tests (and other test assemblies) beside it. Measured on the shared 2-core machine: 7.4 s of
/// CPU (17 s wall) on one thread against 30 s (64 s wall) on two, with bit-identical weights and losses (the engine
/// splits work by rows, never along a reduction, so its results do not depend on the thread count).
/// </summary>
static class TrainedByteLlama
{
    static string Mbpp => Path.Combine(TestPaths.RepoRoot, "data", "benchmarks", "mbpp", "mbpp.jsonl");

    sealed record Trained(ModelConfig Config, float[][] Weights, float[] Losses, double UnigramEntropy, int[] HeldOut);

    static readonly Lazy<Trained> Once = new(Train, LazyThreadSafetyMode.ExecutionAndPublication);

    static Trained Train()
    {
        var (train, heldOut) = ScratchTraining.MbppBytes(Mbpp);
        using var model = ModelIO.Create(ScratchTraining.ByteLlama(hidden: 64, layers: 2, heads: 4, kvHeads: 2, intermediate: 160));
        ModelInit.Initialize(model, 1);
        int threads = Distill.Tensors.Threading.Workers.Count;
        Distill.Tensors.Threading.Workers.Count = 1;
        float[] losses;
        try { losses = ScratchTraining.Train(model, train, steps: 300, batch: 8, seqLen: 64, lr: 3e-3f, seed: 7); }
        finally { Distill.Tensors.Threading.Workers.Count = threads; }
        return new Trained(model.Config, [.. model.Weights.Select(w => w.Parameter.Span.ToArray())], [.. losses],
            ScratchTraining.UnigramEntropy(train), [.. heldOut.Select(b => (int)b)]);
    }

    /// <summary>
    /// A new model with the trained weights, the training losses, the training bytes' unigram entropy (nats) and the
    /// held-out MBPP bytes as token ids.
    /// </summary>
    public static (CausalLM Model, float[] Losses, double UnigramEntropy, int[] HeldOut) Fresh()
    {
        var t = Once.Value;
        var model = ModelIO.Create(t.Config);
        var weights = model.Weights.ToList();
        Assert.Equal(t.Weights.Length, weights.Count);
        for (int i = 0; i < weights.Count; i++) t.Weights[i].CopyTo(weights[i].Parameter.Span);
        return (model, t.Losses, t.UnigramEntropy, t.HeldOut);
    }
}
