using Distill.Tensors.Kernels;

namespace Distill.Tensors.Autograd.Ops;

/// <summary>
/// Rotary embedding on x: (rows, heads·headDim) with explicit positions (rows = batch·len, row r at
/// positions[r % positions.Length]), so decoding at an offset passes [offset, offset+1, …].
/// Backward rotates dy by −angle (the rotation is orthogonal). Slots: A = x, X = table, Y = positions (int[]), I0 = heads.
/// </summary>
public sealed class Rope : Op
{
    static readonly Rope Instance = new();
    public override string Name => nameof(Rope);

    /// <summary>positions: caller-owned, unchanged until backward; length divides x.Rows.</summary>
    public static Tensor Forward(Tape tape, Tensor x, int heads, RopeTable table, int[] positions)
    {
        if (x.Cols != heads * table.HeadDim) throw new ArgumentException($"Rope: x has {x.Cols} columns, expected {heads} heads × {table.HeadDim}");
        var y = tape.New(x.Shape);
        RopeKernels.RopeForward(x.Span, heads, table.HeadDim, table.RotaryDim, table.Cos.Span, table.Sin.Span, positions, y.Span);
        if (tape.NeedsGrad(x)) tape.Record(new TapeEntry { Op = Instance, Out = y, A = x, X = table, Y = positions, I0 = heads });
        return y;
    }

    public override void Backward(Tape tape, in TapeEntry e)
    {
        var dx = tape.GradForWrite(e.A, out bool fresh);   // fresh (q/k projection's only reader): written, not zero-filled and added
        if (dx is null) return;
        var table = (RopeTable)e.X!;
        RopeKernels.RopeBackward(e.Out.Grad!.Span, e.I0, table.HeadDim, table.RotaryDim, table.Cos.Span, table.Sin.Span,
            (int[])e.Y!, dx.Span, overwrite: fresh);
    }
}
