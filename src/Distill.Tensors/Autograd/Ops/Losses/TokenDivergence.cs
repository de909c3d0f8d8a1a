using Distill.Tensors.Kernels.Losses;

namespace Distill.Tensors.Autograd.Ops.Losses;

/// <summary>
/// Token-level distillation loss as a tape op (kernel: TokenDivergenceKernels; kinds: DivergenceKind).
/// teacher, student: (rows, V) logits over ONE shared vocabulary (a clear error otherwise, as TRL's GKD);
/// labels (rows) or null: rows with label == ignoreIndex do not count. Output (1): the mean divergence
/// over kept rows. The teacher is a constant (TRL computes it under no_grad): it never gets a gradient,
/// even when it requires one.
/// With overwriteStudent (only when nothing reads the student logits after this op's backward — the training step, where
/// the LM head's backward reads x and W only, as CrossEntropy's overwriteLogits) the backward writes the gradient into the
/// student logits' storage instead of a zero-filled (rows, V) buffer.
/// Slots: A = student, B = teacher, X = labels (int[]?), S0 = saved (3·rows: lse teacher, lse student, c),
/// I0 = kind, I1 = ignoreIndex, I2 = overwrite, F0 = τ, F1 = β (Jsd) or α (skew KLs).
/// </summary>
public sealed class TokenDivergence : Op
{
    static readonly TokenDivergence Instance = new();
    public override string Name => nameof(TokenDivergence);

    public static Tensor Forward(Tape tape, Tensor teacher, Tensor student, int[]? labels, DivergenceOptions options, int ignoreIndex = -100, bool overwriteStudent = false)
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
                Op = Instance, Out = loss, A = student, B = teacher, X = labels, S0 = saved, I0 = (int)options.Kind, I1 = ignoreIndex, I2 = overwriteStudent ? 1 : 0,
                F0 = options.Temperature, F1 = options.Kind == DivergenceKind.Jsd ? options.Beta : options.Alpha,
            });
        return loss;
    }

    public override void Backward(Tape tape, in TapeEntry e)
    {
        var student = e.A!;
        var kind = (DivergenceKind)e.I0;
        var o = kind == DivergenceKind.Jsd ? new DivergenceOptions(kind, e.F0, Beta: e.F1) : new DivergenceOptions(kind, e.F0, Alpha: e.F1);
        if (e.I2 == 1 && student.Grad is null && !student.IsOwned)
        {
            // the gradient overwrites the logits (an op output, never a parameter's storage), which become their own gradient
            TokenDivergenceKernels.TokenDivergenceBackward(o, e.B!.Span, student.Span, student.Cols, (int[]?)e.X, e.I1, e.S0!.Span, e.Out.Grad![0], student.Span, overwrite: true);
            student.Grad = student;
            return;
        }
        var ds = tape.GradOf(student);
        if (ds is null) return;
        TokenDivergenceKernels.TokenDivergenceBackward(o, e.B!.Span, student.Span, student.Cols, (int[]?)e.X, e.I1, e.S0!.Span, e.Out.Grad![0], ds.Span);
    }
}
