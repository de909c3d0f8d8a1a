using Distill.Models.Generation;
using Distill.Models.Lora;
using Distill.Tensors.Autograd;
using Distill.Tensors.Kernels.Losses;

namespace Distill.Models.Quantization;

/// <summary>
/// How far a model's outputs move when its linears become NF4 (QLoRA's base, <see cref="LoraModel.QuantizeBase"/>):
/// the same held-out windows are run through the fp32 model and then through its NF4 copy. Per position:
/// logits z (fp32) and z' (NF4), p = softmax(z), q = softmax(z'), KL(p‖q) = Σ p (log p − log q) in nats, top-1
/// agreement [argmax z = argmax z'], and the next-token NLL of each. Over all positions: relative RMS ‖z' − z‖/‖z‖,
/// max |z' − z|, mean KL, agreement rate, perplexities exp(mean NLL); LogitRms = ‖z‖/√(positions·vocab), the scale
/// against which the relative error is taken.
/// </summary>
public sealed record Nf4Fidelity(
    int Positions, long Nf4Parameters, long Nf4BytesInMemory, long Nf4BytesStored, long ModelParameters, long Fp32ModelBytes,
    double LogitRms, double RelativeRms, double MaxAbs, double MeanKl, double MaxKl, double Top1Agreement, double PerplexityFp32, double PerplexityNf4)
{
    /// <summary>NF4 linears: packed codes, 8-bit absmax codes, their scales and offset, plus the fp32 block-absmax cache the matmul keeps.</summary>
    public double LinearBytesPerParameter => (double)Nf4BytesInMemory / Nf4Parameters;
    public double LinearBytesPerParameterStored => (double)Nf4BytesStored / Nf4Parameters;
    /// <summary>Every weight of the model with the linears in NF4 and the rest (embedding, norms) fp32.</summary>
    public long Nf4ModelBytes => Fp32ModelBytes - 4 * Nf4Parameters + Nf4BytesInMemory;
    public double ModelBytesPerParameter => (double)Nf4ModelBytes / ModelParameters;
    public double PerplexityRatio => PerplexityNf4 / PerplexityFp32;

    /// <summary>
    /// Measures <paramref name="model"/> (fp32, then quantized in place: it is left holding NF4 linears) on
    /// consecutive windows of <paramref name="tokens"/>: window w predicts tokens[w·T + 1 … w·T + T] from tokens[w·T … w·T + T − 1].
    /// </summary>
    public static Nf4Fidelity Measure(CausalLM model, ReadOnlySpan<int> tokens, int windowLength, int maxWindows)
    {
        if (model.Linears.Any(l => l.Quantized is not null)) throw new InvalidOperationException("the model already holds NF4 linears; measure an fp32 model");
        int windows = Math.Min(maxWindows, (tokens.Length - 1) / windowLength);
        if (windows < 1) throw new ArgumentException($"{tokens.Length} tokens are fewer than one window of {windowLength} + 1");
        int vocab = model.Config.VocabSize, T = windowLength;
        var ids = new int[windows][];
        var targets = new int[windows][];
        for (int w = 0; w < windows; w++)
        {
            ids[w] = tokens.Slice(w * T, T).ToArray();
            targets[w] = tokens.Slice(w * T + 1, T).ToArray();
        }
        long parameters = model.ParameterCount;
        long fp32Bytes = 4 * parameters;

        using var tape = new Tape { NoGrad = true };
        var reference = new float[windows][]; // (windows)(T, vocab)
        for (int w = 0; w < windows; w++) reference[w] = Logits(model, tape, ids[w]);

        var (bytes, nf4Params) = LoraModel.QuantizeBase(model);
        long stored = model.Linears.Where(l => l.Quantized is not null).Sum(l => l.Quantized!.Tensor.StoredBytes);

        double sqDiff = 0, sqRef = 0, maxAbs = 0, klSum = 0, klMax = 0, nllRef = 0, nllQ = 0;
        long agree = 0;
        for (int w = 0; w < windows; w++)
        {
            var quantized = Logits(model, tape, ids[w]);
            for (int t = 0; t < T; t++)
            {
                var z = reference[w].AsSpan(t * vocab, vocab);
                var zq = quantized.AsSpan(t * vocab, vocab);
                for (int v = 0; v < vocab; v++)
                {
                    double d = zq[v] - z[v];
                    sqDiff += d * d;
                    sqRef += (double)z[v] * z[v];
                    maxAbs = Math.Max(maxAbs, Math.Abs(d));
                }
                var lp = LossReference.LogSoftmax(z, 1.0);
                var lq = LossReference.LogSoftmax(zq, 1.0);
                double kl = 0;
                for (int v = 0; v < vocab; v++) kl += Math.Exp(lp[v]) * (lp[v] - lq[v]);
                klSum += kl;
                klMax = Math.Max(klMax, kl);
                if (Sampler.ArgMax(z) == Sampler.ArgMax(zq)) agree++;
                nllRef -= lp[targets[w][t]];
                nllQ -= lq[targets[w][t]];
            }
        }
        int n = windows * T;
        return new Nf4Fidelity(n, nf4Params, bytes, stored, parameters, fp32Bytes,
            Math.Sqrt(sqRef / ((double)n * vocab)), Math.Sqrt(sqDiff / sqRef), maxAbs, klSum / n, klMax, (double)agree / n, Math.Exp(nllRef / n), Math.Exp(nllQ / n));
    }

    static float[] Logits(CausalLM model, Tape tape, int[] ids)
    {
        tape.Reset();
        return model.Forward(tape, ids, 1).Span.ToArray();
    }
}
