using Distill.Tensors.Kernels.Losses;

namespace Distill.Tensors.Autograd.Ops.Losses;

/// <summary>
/// Token-level distillation loss as a tape op (kernel: TokenDivergenceKernels; kinds: DivergenceKind).
/// teacher, student: (rows, V) logits over ONE shared vocabulary (a clear error otherwise, as TRL's GKD);
/// labels (rows) or null: rows with label == ignoreIndex do not count. Output (1): the mean divergence
/// over kept rows. The teacher is a constant (TRL computes it under no_grad): it never gets a gradient,
/// even when it requires one.
/// Slots: A = student, B = teacher, X = labels (int[]?), S0 = saved (3·rows: lse teacher, lse student, c),
/// I0 = kind, I1 = ignoreIndex, F0 = τ, F1 = β (Jsd) or α (skew KLs).
/// </summary>
public sealed class TokenDivergence : Op
{
    static readonly TokenDivergence Instance = new();
    public override string Name => nameof(TokenDivergence);

    public static Tensor Forward(Tape tape, Tensor teacher, Tensor student, int[]? labels, DivergenceOptions options, int ignoreIndex = -100)
    {
        TokenDivergenceKernels.CheckSameVocabulary(teacher.Cols, student.Cols);
        if (teacher.Rows != student.Rows) throw new ArgumentException($"TokenDivergence: teacher {teacher} and student {student} have different row counts");
        int rows = student.Rows;
        if (labels is not null && labels.Length != rows) throw new ArgumentException($"TokenDivergence: {labels.Length} labels for {rows} rows");
        var rowLoss = tape.New(rows);   // (rows)
        var saved = tape.New(3 * rows); // (3·rows)
        var loss = tape.New(1);
        loss[0] = TokenDivergenceKernels.TokenDivergenceForward(options, teacher.Span, student.Span, student.Cols, labels, ignoreIndex, rowLoss.Span, saved.Span);
        if (tape.NeedsGrad(student))
            tape.Record(new TapeEntry
            {
                Op = Instance, Out = loss, A = student, B = teacher, X = labels, S0 = saved, I0 = (int)options.Kind, I1 = ignoreIndex,
                F0 = options.Temperature, F1 = options.Kind == DivergenceKind.Jsd ? options.Beta : options.Alpha,
            });
        return loss;
    }

    public override void Backward(Tape tape, in TapeEntry e)
    {
        var ds = tape.GradOf(e.A);
        if (ds is null) return;
        var kind = (DivergenceKind)e.I0;
        var o = kind == DivergenceKind.Jsd ? new DivergenceOptions(kind, e.F0, Beta: e.F1) : new DivergenceOptions(kind, e.F0, Alpha: e.F1);
        TokenDivergenceKernels.TokenDivergenceBackward(o, e.B!.Span, e.A!.Span, e.A.Cols, (int[]?)e.X, e.I1, e.S0!.Span, e.Out.Grad![0], ds.Span);
    }
}
