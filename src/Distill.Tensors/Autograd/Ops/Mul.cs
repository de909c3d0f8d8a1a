using System.Numerics.Tensors;

namespace Distill.Tensors.Autograd.Ops;

/// <summary>y = a ⊙ b (same shape). Backward: da += dy ⊙ b, db += dy ⊙ a. Slots: A, B.</summary>
public sealed class Mul : Op
{
    static readonly Mul Instance = new();
    public override string Name => nameof(Mul);

    public static Tensor Forward(Tape tape, Tensor a, Tensor b)
    {
        if (a.Length != b.Length) throw new ArgumentException($"Mul: {Tensor.ShapeString(a.Shape)} ⊙ {Tensor.ShapeString(b.Shape)}");
        var y = tape.New(a.Shape);
        TensorPrimitives.Multiply(a.Span, b.Span, y.Span);
        if (tape.NeedsGrad(a, b)) tape.Record(new TapeEntry { Op = Instance, Out = y, A = a, B = b });
        return y;
    }

    public override void Backward(Tape tape, in TapeEntry e)
    {
        var dy = e.Out.Grad!.Span;
        var da = tape.GradOf(e.A);
        if (da is not null) TensorPrimitives.MultiplyAdd(dy, e.B!.Span, da.Span, da.Span);
        var db = tape.GradOf(e.B);
        if (db is not null) TensorPrimitives.MultiplyAdd(dy, e.A!.Span, db.Span, db.Span);
    }
}
