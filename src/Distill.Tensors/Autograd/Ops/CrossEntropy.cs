using Distill.Tensors.Kernels;

namespace Distill.Tensors.Autograd.Ops;

/// <summary>
/// Fused cross-entropy of the TRAINING PATH (engine-losses: the general CE/log-softmax ops are yours;
/// this one exists so the LM-head backward needs no second (rows × vocab) buffer).
/// logits: (rows, vocab), targets: (rows) → loss (1) = mean over rows with target ≠ ignoreIndex.
/// With overwriteLogits (only when nothing else reads the logits after this op's backward runs,
/// i.e. the CE is the logits' only consumer) the backward writes dlogits into the logits' storage.
/// Slots: A = logits, X = targets (int[]), S0 = lse (rows), I0 = ignoreIndex, I1 = overwrite, I2 = count of valid rows.
/// </summary>
public sealed class CrossEntropy : Op
{
    static readonly CrossEntropy Instance = new();
    public override string Name => nameof(CrossEntropy);

    public static Tensor Forward(Tape tape, Tensor logits, int[] targets, int ignoreIndex = -100, bool overwriteLogits = false)
    {
        int rows = logits.Rows, vocab = logits.Cols;
        if (targets.Length < rows) throw new ArgumentException($"CrossEntropy: {targets.Length} targets for {rows} rows");
        var lse = tape.New(rows);
        var rowLoss = tape.New(rows);
        var tg = targets.AsSpan(0, rows);
        CrossEntropyKernels.Forward(logits.Span, vocab, tg, ignoreIndex, lse.Span, rowLoss.Span);
        double sum = 0;
        int valid = 0;
        for (int r = 0; r < rows; r++)
            if (tg[r] != ignoreIndex) { sum += rowLoss[r]; valid++; }
        var loss = tape.New(1);
        loss[0] = valid == 0 ? 0f : (float)(sum / valid);
        if (tape.NeedsGrad(logits))
            tape.Record(new TapeEntry { Op = Instance, Out = loss, A = logits, X = targets, S0 = lse, I0 = ignoreIndex, I1 = overwriteLogits ? 1 : 0, I2 = valid });
        return loss;
    }

    public override void Backward(Tape tape, in TapeEntry e)
    {
        var logits = e.A!;
        if (e.I2 == 0) return;
        float scale = e.Out.Grad![0] / e.I2;
        var targets = ((int[])e.X!).AsSpan(0, logits.Rows);
        if (e.I1 == 1 && logits.Grad is null)
        {
            // dlogits overwrite the logits: the LM head's backward reads only x and W, never its output.
            CrossEntropyKernels.Backward(logits.Span, logits.Cols, targets, e.I0, e.S0!.Span, scale, logits.Span);
            logits.Grad = logits;
            return;
        }
        var dl = tape.GradOf(logits)!;
        var tmp = tape.New(logits.Shape);
        CrossEntropyKernels.Backward(logits.Span, logits.Cols, targets, e.I0, e.S0!.Span, scale, tmp.Span);
        ActivationKernels.AddInto(tmp.Span, dl.Span);
    }
}
