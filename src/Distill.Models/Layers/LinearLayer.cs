using Distill.Models.Lora;
using Distill.Models.Quantization;
using Distill.Tensors;
using Distill.Tensors.Autograd;
using Distill.Tensors.Autograd.Ops;
using Distill.Tensors.Kernels;
using Distill.Tensors.Quantization;

namespace Distill.Models.Layers;

/// <summary>
/// One nn.Linear of a checkpoint (module path such as `model.layers.0.self_attn.q_proj`): y = x Wᵀ + b, with W
/// dense fp32 or frozen NF4, plus an optional LoRA branch s·B(A(dropout(x))) (PEFT's lora.Linear forward).
/// W is (out, in) in memory for every family; GPT-2's Conv1D [in, out] is transposed at load and save.
/// For inference the layer may also hold a q8_0, q8row or bf16 copy of a frozen W (<see cref="Inference"/>), used by
/// forward-only (NoGrad) passes; the LoRA branch stays float beside it.
/// </summary>
public sealed class LinearLayer(string path, int inFeatures, int outFeatures)
{
    public string Path { get; } = path;
    public int InFeatures { get; } = inFeatures;
    public int OutFeatures { get; } = outFeatures;
    public Parameter? Weight { get; set; }
    public Nf4Weight? Quantized { get; private set; }
    public Parameter? Bias { get; set; }
    public LoraBranch? Lora { get; set; }

    /// <summary>A compact copy of the frozen base weight for forward-only passes (CausalLM.UseInferenceWeights), or null.</summary>
    public IInferenceMatrix? Inference { get; private set; }

    /// <summary>
    /// Builds (or drops, with f32) the inference copy of W. Only a frozen W is converted — a trainable one would leave a
    /// stale copy after the next optimizer step — and for the 8-bit formats only when in_features is a multiple of 32.
    /// Returns whether a copy exists.
    /// </summary>
    public bool SetInference(InferenceWeights format)
    {
        Inference = null;
        if (format == InferenceWeights.F32 || !format.Fits(InFeatures) || Weight is { Trainable: true }) return false;
        Inference = Weight is not null ? format.Convert(Weight.Span, OutFeatures, InFeatures) : format.Convert(DenseWeight(), OutFeatures, InFeatures);
        return true;
    }

    public Tensor Forward(Tape tape, Tensor x)
    {
        if (InferenceFor(tape) is { } q8)
        {
            // 8-bit, bf16 or packed f32 base, float adapter: y = x·Wq8ᵀ + b (+ s·B(A x), added in place), nothing recorded.
            if (Lora is { Enabled: true, DropoutActive: false } branch)
                return InferenceLinear.Forward(tape, x, q8, Bias?.Value, branch.A.Value, branch.B.Value, branch.Scaling);
            var y8 = InferenceLinear.Forward(tape, x, q8, Bias?.Value);
            return Lora is not { Enabled: true } ? y8 : Add.Forward(tape, y8, Lora.Forward(tape, x));
        }
        if (Lora is { Enabled: true, DropoutActive: false } lora)
            // The branch fused into the base GEMM's output (no dropout mask to apply to its input).
            return Quantized is not null ? LoraLinear.Forward(tape, x, Quantized, Bias?.Value, lora.A.Value, lora.B.Value, lora.Scaling)
                : LoraLinear.Forward(tape, x, Weight!.Value, Bias?.Value, lora.A.Value, lora.B.Value, lora.Scaling);
        var y = Quantized is not null ? Linear.Forward(tape, x, Quantized, Bias?.Value)
            : Linear.Forward(tape, x, Weight!.Value, Bias?.Value);
        return Lora is not { Enabled: true } ? y : Add.Forward(tape, y, Lora.Forward(tape, x));
    }

    /// <summary>
    /// The layers' outputs on the same x (a layer's q, k, v projections, or gate and up): with packed f32 inference copies
    /// (<see cref="PackedF32Matrix"/>) in a forward-only pass, one grouped product (x packed once, one fork/join; the
    /// same tiles, so bit-identical to each layer's <see cref="Forward"/>), then each layer's bias and fused LoRA branch;
    /// otherwise each layer's <see cref="Forward"/>.
    /// </summary>
    public static Tensor[] ForwardMany(Tape tape, Tensor x, LinearLayer a, LinearLayer b, LinearLayer? c = null)
    {
        var wc = c?.Grouped(tape);
        if (a.Grouped(tape) is { } wa && b.Grouped(tape) is { } wb && (c is null || wc is not null)
            && wb.Cols == wa.Cols && wb.Isa == wa.Isa && (wc is null || wc.Cols == wa.Cols && wc.Isa == wa.Isa))
        {
            var layers = c is null ? new[] { a, b } : new[] { a, b, c };
            var ys = Array.ConvertAll(layers, l => InferenceLinear.NewOutput(tape, x, l.OutFeatures));
            PackedF32Matrix.ForwardMany(x.Span, x.Rows, wa, ys[0].Span, wb, ys[1].Span, wc, wc is null ? default : ys[2].Span);
            for (int i = 0; i < layers.Length; i++)
            {
                var l = layers[i];
                if (l.Bias is { } bias) LinearKernels.AddBias(ys[i].Span, bias.Value.Span);
                if (l.Lora is { Enabled: true } lora) InferenceLinear.AddLora(tape, x, ys[i], lora.A.Value, lora.B.Value, lora.Scaling);
            }
            return ys;
        }
        return c is null ? [a.Forward(tape, x), b.Forward(tape, x)] : [a.Forward(tape, x), b.Forward(tape, x), c.Forward(tape, x)];
    }

    /// <summary>The packed f32 copy <see cref="Forward"/> would use with at most a fused (dropout-free) LoRA branch, or null.</summary>
    PackedF32Matrix? Grouped(Tape tape)
        => InferenceFor(tape) is PackedF32Matrix p && Lora is null or { Enabled: false } or { Enabled: true, DropoutActive: false } ? p : null;

    /// <summary>The inference copy of W a forward on this tape uses (one asking for inference weights, W frozen), or null.</summary>
    IInferenceMatrix? InferenceFor(Tape tape) => tape.UsesInferenceWeights && Weight is not { Trainable: true } ? Inference : null;

    /// <summary>
    /// Replaces the fp32 weight by NF4 with double quantization (the base of QLoRA). The fp32 parameter keeps its
    /// name in the model's weight table but its memory is released (shape (0)); <see cref="SetDenseWeight"/> restores it.
    /// </summary>
    public void QuantizeNf4()
    {
        if (Quantized is not null) return;
        Quantized = new Nf4Weight(Nf4Tensor.Quantize(Weight!.Span, OutFeatures, InFeatures));
        Weight.Dispose();
        Weight = null;
    }

    /// <summary>Sets an fp32 weight (out, in), dropping any NF4 copy (used by merging).</summary>
    public void SetDenseWeight(ReadOnlySpan<float> w)
    {
        if (w.Length != InFeatures * OutFeatures) throw new ArgumentException($"{Path}: {w.Length} values for a [{OutFeatures}, {InFeatures}] weight");
        if (Weight is null)
        {
            Weight = Replacement!(Path + ".weight", OutFeatures, InFeatures);
            Quantized = null;
        }
        Inference = null; // W changed: an 8-bit copy would be stale
        Weight.Value.Packed = null; // and so would its GEMM panels
        w.CopyTo(Weight.Span);
    }

    /// <summary>Set by the model: re-creates a released parameter and swaps it into the weight table.</summary>
    internal Func<string, int, int, Parameter>? Replacement { get; set; }

    /// <summary>The effective fp32 weight (dequantized if NF4), (out, in).</summary>
    public float[] DenseWeight()
    {
        if (Quantized is not null) return Quantized.Tensor.Dequantize();
        return Weight!.Span.ToArray();
    }
}
