using Distill.Tensors.Kernels;

namespace Distill.Tensors.Autograd.Ops;

/// <summary>y = a + b (same shape, e.g. a residual). Backward: da += dy, db += dy. Slots: A, B.</summary>
public sealed class Add : Op
{
    static readonly Add Instance = new();
    public override string Name => nameof(Add);

    public static Tensor Forward(Tape tape, Tensor a, Tensor b)
    {
        if (a.Length != b.Length) throw new ArgumentException($"Add: {Tensor.ShapeString(a.Shape)} + {Tensor.ShapeString(b.Shape)}");
        var y = tape.New(a.Shape);
        ActivationKernels.Add(a.Span, b.Span, y.Span);
        if (tape.NeedsGrad(a, b)) tape.Record(new TapeEntry { Op = Instance, Out = y, A = a, B = b });
        return y;
    }

    public override void Backward(Tape tape, in TapeEntry e)
    {
        // db first (it needs dy), then da: a fresh da takes dy's buffer itself (no memset, no add).
        var dy = e.Out.Grad!;
        var db = tape.GradOf(e.B);
        if (db is not null) ActivationKernels.AddInto(dy.Span, db.Span);
        if (tape.TakeOutputGrad(e.Out, e.A)) return;
        var da = tape.GradOf(e.A);
        if (da is not null) ActivationKernels.AddInto(dy.Span, da.Span);
    }
}
