using Distill.Tensors.Kernels;

namespace Distill.Tensors.Autograd.Ops;

/// <summary>SwiGLU gate (Shazeer 2020): y = silu(gate) ⊙ up, as in Llama's MLP before down_proj. Slots: A = gate, B = up.</summary>
public sealed class SwiGlu : Op
{
    static readonly SwiGlu Instance = new();
    public override string Name => nameof(SwiGlu);

    public static Tensor Forward(Tape tape, Tensor gate, Tensor up)
    {
        if (gate.Length != up.Length) throw new ArgumentException($"SwiGlu: gate {Tensor.ShapeString(gate.Shape)} vs up {Tensor.ShapeString(up.Shape)}");
        var y = tape.New(gate.Shape);
        ActivationKernels.SwiGluForward(gate.Span, up.Span, y.Span);
        if (tape.NeedsGrad(gate, up)) tape.Record(new TapeEntry { Op = Instance, Out = y, A = gate, B = up });
        return y;
    }

    public override void Backward(Tape tape, in TapeEntry e)
    {
        // a gradient buffer nobody wrote yet is overwritten, not zero-filled and added into
        bool freshG = false, freshU = false;
        var dg = ReferenceEquals(e.A, e.B) ? tape.GradOf(e.A) : tape.GradForWrite(e.A, out freshG);   // gate = up: one buffer, added into twice
        var du = ReferenceEquals(e.A, e.B) ? dg : tape.GradForWrite(e.B, out freshU);
        ActivationKernels.SwiGluBackward(e.A!.Span, e.B!.Span, e.Out.Grad!.Span, dg is null ? default : dg.Span, du is null ? default : du.Span, freshG, freshU);
    }
}
