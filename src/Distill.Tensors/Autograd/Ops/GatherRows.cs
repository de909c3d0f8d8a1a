namespace Distill.Tensors.Autograd.Ops;

/// <summary>
/// Chosen rows: y[i] = x[rows[i]] for x (n, cols) → y (rows.Length, cols). Sequence classification pools the
/// per-token scores this way, at each sequence's last non-pad token (transformers'
/// <c>logits[arange(batch), last_non_pad_token]</c>). Backward scatters dy back, adding when a row is chosen twice.
/// Slots: A = x, X = rows (int[]).
/// </summary>
public sealed class GatherRows : Op
{
    static readonly GatherRows Instance = new();
    public override string Name => nameof(GatherRows);

    public static Tensor Forward(Tape tape, Tensor x, int[] rows)
    {
        int n = x.Rows, cols = x.Cols;
        var y = tape.New(rows.Length, cols);
        var xs = x.Span;
        var ys = y.Span;
        for (int i = 0; i < rows.Length; i++)
        {
            if ((uint)rows[i] >= (uint)n) throw new ArgumentOutOfRangeException(nameof(rows), $"GatherRows: row {rows[i]} outside x {Tensor.ShapeString(x.Shape)}");
            xs.Slice(rows[i] * cols, cols).CopyTo(ys.Slice(i * cols, cols));
        }
        if (tape.NeedsGrad(x)) tape.Record(new TapeEntry { Op = Instance, Out = y, A = x, X = rows });
        return y;
    }

    public override void Backward(Tape tape, in TapeEntry e)
    {
        var dx = tape.GradOf(e.A);
        if (dx is null) return;
        var rows = (int[])e.X!;
        int cols = e.Out.Cols;
        var dy = e.Out.Grad!.Span;
        var d = dx.Span;
        for (int i = 0; i < rows.Length; i++)
            System.Numerics.Tensors.TensorPrimitives.Add(d.Slice(rows[i] * cols, cols), dy.Slice(i * cols, cols), d.Slice(rows[i] * cols, cols));
    }
}
