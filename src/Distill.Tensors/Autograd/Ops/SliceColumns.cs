namespace Distill.Tensors.Autograd.Ops;

/// <summary>
/// A block of columns: y = x[:, start : start + width] for x (rows, cols) → y (rows, width). It splits a fused
/// projection into its parts, e.g. Phi-3's qkv_proj into q, k, v and gate_up_proj into gate and up
/// (modeling_phi3.py slices qkv[..., :query_pos] and chunks gate_up in two). Backward adds dy into the same
/// columns of dx, so the parts of one fused output accumulate into one gradient.
/// Slots: A = x, I0 = start.
/// </summary>
public sealed class SliceColumns : Op
{
    static readonly SliceColumns Instance = new();
    public override string Name => nameof(SliceColumns);

    public static Tensor Forward(Tape tape, Tensor x, int start, int width)
    {
        int rows = x.Rows, cols = x.Cols;
        if (start < 0 || width <= 0 || start + width > cols)
            throw new ArgumentException($"SliceColumns: columns [{start}, {start + width}) outside x {Tensor.ShapeString(x.Shape)}");
        var y = tape.New(rows, width);
        var xs = x.Span;
        var ys = y.Span;
        for (int r = 0; r < rows; r++) xs.Slice(r * cols + start, width).CopyTo(ys.Slice(r * width, width));
        if (tape.NeedsGrad(x)) tape.Record(new TapeEntry { Op = Instance, Out = y, A = x, I0 = start });
        return y;
    }

    public override void Backward(Tape tape, in TapeEntry e)
    {
        var dx = tape.GradOf(e.A);
        if (dx is null) return;
        int rows = e.A!.Rows, cols = e.A.Cols, width = e.Out.Cols, start = e.I0;
        var dy = e.Out.Grad!.Span;
        var d = dx.Span;
        for (int r = 0; r < rows; r++)
            System.Numerics.Tensors.TensorPrimitives.Add(d.Slice(r * cols + start, width), dy.Slice(r * width, width), d.Slice(r * cols + start, width));
    }
}
