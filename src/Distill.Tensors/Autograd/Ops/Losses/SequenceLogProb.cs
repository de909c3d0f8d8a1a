using Distill.Tensors.Kernels.Losses;

namespace Distill.Tensors.Autograd.Ops.Losses;

/// <summary>
/// Per-sequence log-probability of target tokens as a tape op (kernel: SequenceLogProbKernels).
/// logits: (B·T, V) or (B, T, V), ALREADY ALIGNED with targets (B·T): the caller shifts by one, as TRL's
/// get_batch_logps does (logits of positions 0..T−2 score the ids of positions 1..T−1).
/// Output (B): Σ_t log p(y_t) over kept targets, or with lengthNormalized the mean over them (IPO, PLaD).
/// Preference losses are pure functions of this output: seed its gradient with
/// <c>tape.Backward(logp, dLoss/dlogp)</c>.
/// Slots: A = logits, X = targets (int[]), S0 = lse (B·T), I0 = ignoreIndex, I1 = B, I2 = lengthNormalized.
/// </summary>
public sealed class SequenceLogProb : Op
{
    static readonly SequenceLogProb Instance = new();
    public override string Name => nameof(SequenceLogProb);

    public static Tensor Forward(Tape tape, Tensor logits, int[] targets, int batch, bool lengthNormalized = false, int ignoreIndex = -100)
    {
        int rows = logits.Rows;
        if (targets.Length != rows) throw new ArgumentException($"SequenceLogProb: {targets.Length} targets for {rows} logit rows of {logits}");
        var tok = tape.New(rows);    // (B·T) per-token log-probs
        var lse = tape.New(rows);    // (B·T) saved for backward
        var sum = tape.New(batch);   // (B)
        var mean = tape.New(batch);  // (B)
        SequenceLogProbKernels.SequenceLogProbForward(logits.Span, batch, logits.Cols, targets, ignoreIndex, tok.Span, lse.Span, sum.Span, mean.Span);
        var y = lengthNormalized ? mean : sum;
        if (tape.NeedsGrad(logits))
            tape.Record(new TapeEntry { Op = Instance, Out = y, A = logits, X = targets, S0 = lse, I0 = ignoreIndex, I1 = batch, I2 = lengthNormalized ? 1 : 0 });
        return y;
    }

    public override void Backward(Tape tape, in TapeEntry e)
    {
        var dl = tape.GradOf(e.A);
        if (dl is null) return;
        var dy = e.Out.Grad!.Span;
        var logits = e.A!;
        SequenceLogProbKernels.SequenceLogProbBackward(logits.Span, e.I1, logits.Cols, (int[])e.X!, e.I0, e.S0!.Span,
            e.I2 == 0 ? dy : default, e.I2 == 1 ? dy : default, dl.Span);
    }
}
