using Distill.Tensors.Kernels;

namespace Distill.Tensors.Autograd.Ops;

/// <summary>
/// y[r] = table[ids[r]]; ids: (rows) caller-owned (kept until backward), table: (vocab, dim) → y: (rows, dim).
/// Backward: dtable[ids[r]] += dy[r]. Slots: A = table, X = ids (int[]), I0 = number of ids used.
/// </summary>
public sealed class Embedding : Op
{
    static readonly Embedding Instance = new();
    public override string Name => nameof(Embedding);

    public static Tensor Forward(Tape tape, int[] ids, Tensor table, int count = -1)
    {
        int n = count < 0 ? ids.Length : count;
        var y = tape.New(n, table.Cols);
        EmbeddingKernels.EmbeddingForward(ids.AsSpan(0, n), table.Span, table.Cols, y.Span);
        if (tape.NeedsGrad(table)) tape.Record(new TapeEntry { Op = Instance, Out = y, A = table, X = ids, I0 = n });
        return y;
    }

    public override void Backward(Tape tape, in TapeEntry e)
    {
        var dt = tape.GradOf(e.A);
        if (dt is not null) EmbeddingKernels.EmbeddingBackward(((int[])e.X!).AsSpan(0, e.I0), e.Out.Grad!.Span, e.A!.Cols, dt.Span);
    }
}
