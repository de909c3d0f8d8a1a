using Distill.Models.Quantization;
using Distill.Tensors.Autograd;
using Distill.Tensors.Autograd.Ops;
using Distill.Training;

namespace Distill.Models.Tests.Quantization;

/// <summary>
/// The NF4 tolerance (docs/models.md, "NF4"), enforced on a model that has learned something: a byte-level Llama
/// (hidden 64, 2 layers, ≈ 0.1 M parameters) trained here from scratch on MBPP's training tasks, measured on MBPP's
/// held-out tasks. Random-init models are no basis for a tolerance (their logits are small and near-uniform; see
/// docs/models.md), so the bounds below come from this trained model, each with its measured value and margin.
/// </summary>
public class Nf4TrainedModelTests
{
    [Fact]
    public void NF4LogitsOfATrainedModelStayWithinTheStatedTolerance()
    {
        // trained once per test run for this test and Q8InferenceTests (TrainedByteLlama: 300 steps, init seed 1, data seed 7)
        var (model, losses, unigram, tokens) = TrainedByteLlama.Fresh();
        using var _ = model;

        // The model must have learned: measured final loss ≈ 2.5 nats against a byte unigram entropy of 3.49.
        double final = losses.TakeLast(50).Average(l => (double)l);
        Assert.True(final < unigram - 0.5, $"final training loss {final:F3} is not clearly below the unigram entropy {unigram:F3}");

        double engineNll = HeldOutCrossEntropy(model, tokens, 128, 16); // before Measure quantizes the model in place
        var f = Nf4Fidelity.Measure(model, tokens, windowLength: 128, maxWindows: 16);
        // Nf4Fidelity's own log-softmax agrees with the engine's cross-entropy on the same windows.
        Assert.Equal(engineNll, Math.Log(f.PerplexityFp32), 1e-4);
        // ...and generalised: held-out fp32 perplexity measured 13.8 = e^2.62 against e^3.49 = 32.8 for the unigram model.
        Assert.True(Math.Log(f.PerplexityFp32) < unigram - 0.5, $"held-out fp32 perplexity {f.PerplexityFp32:F2} vs unigram e^{unigram:F3}");

        // Storage: 4 bits + one 8-bit absmax code per 64 + fp32 per 16,384 + the fp32 absmax cache; measured 0.579. Bar: ≤ 0.6.
        Assert.InRange(f.LinearBytesPerParameter, 0.55, 0.6);
        // Measured here / on the 2.9 M model of `distill bench nf4` (600 steps, held-out ppl 3.08): the bounds are the
        // tolerance stated in docs/models.md, with at least 1.6× margin over both.
        // Relative RMS logit error ‖Δz‖/‖z‖: measured 0.026 / 0.018; bound 0.06.
        Assert.True(f.RelativeRms < 0.06, $"relative RMS logit error {f.RelativeRms:F4} ≥ 0.06");
        // Mean KL(p_fp32 ‖ p_nf4) per position: measured 1.7e-3 / 2.1e-3 nats; bound 5e-3.
        Assert.True(f.MeanKl < 5e-3, $"mean KL {f.MeanKl:E3} ≥ 5e-3 nats");
        // Top-1 agreement: measured 97.2 % / 97.6 % (disagreements are near-ties); bound 93 %.
        Assert.True(f.Top1Agreement > 0.93, $"top-1 agreement {f.Top1Agreement:P2} ≤ 93 %");
        // Held-out perplexity NF4 / fp32: measured 1.0016 / 1.0060; bound 1.01.
        Assert.True(f.PerplexityRatio < 1.01, $"perplexity ratio {f.PerplexityRatio:F4} ≥ 1.01 ({f.PerplexityFp32:F3} → {f.PerplexityNf4:F3})");
    }

    /// <summary>Mean next-token cross-entropy of the engine's CrossEntropy op over consecutive windows, in nats.</summary>
    static double HeldOutCrossEntropy(CausalLM model, int[] tokens, int window, int windows)
    {
        using var tape = new Tape { NoGrad = true };
        double sum = 0;
        for (int w = 0; w < windows; w++)
        {
            tape.Reset();
            var logits = model.Forward(tape, tokens[(w * window)..(w * window + window)], 1);
            sum += CrossEntropy.Forward(tape, logits, tokens[(w * window + 1)..(w * window + window + 1)])[0];
        }
        return sum / windows;
    }
}
