using Distill.Tensors;
using Distill.Tensors.Autograd;
using Distill.Tensors.Autograd.Ops;

namespace Distill.Models.Lora;

/// <summary>
/// The trainable side of a LoRA linear (Hu et al. 2021, Eq. 3; PEFT lora.Linear): Δy = s · B (A dropout(x)),
/// A: (r, in) Kaiming-uniform(a = √5) as nn.Linear initialises it, B: (out, r) zeros, so a fresh adapter leaves
/// the model unchanged. Dropout is inverted dropout on the LoRA input only, active when <see cref="Training"/>.
/// </summary>
public sealed class LoraBranch : IDisposable
{
    public Parameter A { get; }
    public Parameter B { get; }
    public int R { get; }
    public float Scaling { get; }
    public float Dropout { get; }
    public bool Training { get; set; }
    /// <summary>False bypasses the branch (PEFT's disable_adapter): the base model, e.g. DPO's reference forward.</summary>
    public bool Enabled { get; set; } = true;
    /// <summary>The generator of the dropout masks; a trainer may replace it by one whose state it checkpoints.</summary>
    public Rng DropoutRng { get; set; }

    public LoraBranch(string path, int inFeatures, int outFeatures, LoraConfig config, Rng rng)
    {
        R = config.R;
        Scaling = (float)config.Scaling;
        Dropout = (float)config.LoraDropout;
        DropoutRng = rng;
        A = new Parameter($"{path}.lora_A.weight", R, inFeatures);
        B = new Parameter($"{path}.lora_B.weight", outFeatures, R);
        // kaiming_uniform_(a=√5) on (r, in): bound = gain·√(3/fan_in), gain = √(2/(1+a²)) = √(1/3) → bound = 1/√in
        float bound = 1f / MathF.Sqrt(inFeatures);
        rng.FillUniform(A.Span, -bound, bound);
    }

    /// <summary>Whether dropout applies to the branch's input now (training with p &gt; 0); without it the layer fuses the branch (<see cref="Distill.Tensors.Autograd.Ops.LoraLinear"/>).</summary>
    public bool DropoutActive => Training && Dropout > 0;

    /// <summary>s · B(A(dropout(x))) on its own; the layer adds it to the base output (used when dropout is active).</summary>
    public Tensor Forward(Tape tape, Tensor x)
    {
        var input = x;
        if (DropoutActive)
        {
            var mask = tape.New(x.Shape);
            float keep = 1f / (1f - Dropout);
            var m = mask.Span;
            for (int i = 0; i < m.Length; i++) m[i] = DropoutRng.NextFloat() < Dropout ? 0f : keep;
            input = Mul.Forward(tape, x, mask);
        }
        var h = Linear.Forward(tape, input, A.Value);   // (rows, r)
        var d = Linear.Forward(tape, h, B.Value);       // (rows, out)
        return Scale.Forward(tape, d, Scaling);
    }

    /// <summary>ΔW = s · B A, (out, in): what merge_and_unload adds to the base weight.</summary>
    public float[] DeltaWeight()
    {
        int outF = B.Value.Rows, inF = A.Value.Cols;
        var delta = new float[outF * inF];
        Distill.Tensors.Kernels.Gemm.Sgemm(false, false, outF, inF, R, Scaling, B.Span, R, A.Span, inF, 0f, delta, inF);
        return delta;
    }

    public void Dispose() { A.Dispose(); B.Dispose(); }
}
