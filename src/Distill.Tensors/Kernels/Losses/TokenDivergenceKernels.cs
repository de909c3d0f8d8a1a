using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Distill.Tensors.Threading;

namespace Distill.Tensors.Kernels.Losses;

/// <summary>
/// Token-level distillation divergences between teacher logits and student logits (rows, V), both
/// divided by the temperature τ before the softmax, averaged over the rows whose label is kept
/// (labels ≠ ignoreIndex; TRL GKDTrainer.generalized_jsd_loss with reduction "batchmean":
/// jsd[mask].sum() / mask.sum()). The teacher is a constant: only the student gets a gradient.
/// The element formulas and their derivation are in DivergenceTerms.cs.
///
/// Forward: per row, lse of both sides (max-subtracted), then one fused pass computing the row loss
/// and c = Σ h; it saves (lseTeacher, lseStudent, c) per row so the backward is one pass per row:
/// dz_j += (dLoss / kept / τ) · (h_j − q_j c). Forward overwrites; backward ADDS into dStudent (or overwrites it, in place).
/// Rows split across threads; the mean is summed serially (thread-count independent).
/// </summary>
public static unsafe class TokenDivergenceKernels
{
    /// <summary>Throws the clear error TRL gives when the two models' vocabularies differ.</summary>
    public static void CheckSameVocabulary(int teacherVocab, int studentVocab)
    {
        if (teacherVocab != studentVocab)
            throw new ArgumentException($"token-level distillation needs one shared vocabulary: teacher logits have {teacherVocab} columns, student logits {studentVocab} (use sequence-level KD or DPO-KD for models with different tokenizers)");
    }

    // teacher, student: (rows, V)  labels: (rows), or empty = every row kept
    // rowLoss: (rows), 0 where ignored  saved: (3·rows) = [lseTeacher | lseStudent | c], for backward
    // returns the mean of rowLoss over kept rows (0 if none)
    public static float TokenDivergenceForward(DivergenceOptions o, ReadOnlySpan<float> teacher, ReadOnlySpan<float> student, int vocab,
        ReadOnlySpan<int> labels, int ignoreIndex, Span<float> rowLoss, Span<float> saved)
    {
        int rows = Check(o, teacher, student, vocab, labels, saved, "TokenDivergenceForward");
        if (rowLoss.Length != rows) throw new ArgumentException($"TokenDivergenceForward: rowLoss needs {rows} values, got {rowLoss.Length}");
        fixed (float* pt = teacher) fixed (float* ps = student) fixed (int* pl = labels) fixed (float* pr = rowLoss) fixed (float* pv = saved)
        {
            var a = new Args { T = pt, S = ps, Labels = labels.IsEmpty ? null : pl, Ignore = ignoreIndex, V = vocab, Rows = rows, InvTau = 1f / o.Temperature, Coefs = Coefs(o), Saved = pv, Out = pr };
            switch (o.Kind)
            {
                case DivergenceKind.ForwardKl: Workers.For(rows, new FwdKl { A = a, Reverse = false }, RowMath.MinRows(vocab)); break;
                case DivergenceKind.ReverseKl: Workers.For(rows, new FwdKl { A = a, Reverse = true }, RowMath.MinRows(vocab)); break;
                case DivergenceKind.Jsd: Workers.For(rows, new Fwd<JsdTerm> { A = a }, RowMath.MinRows(vocab)); break;
                case DivergenceKind.Tvd: Workers.For(rows, new Fwd<TvdTerm> { A = a }, RowMath.MinRows(vocab)); break;
                case DivergenceKind.SkewForwardKl: Workers.For(rows, new Fwd<SkewForwardKlTerm> { A = a }, RowMath.MinRows(vocab)); break;
                case DivergenceKind.SkewReverseKl: Workers.For(rows, new Fwd<SkewReverseKlTerm> { A = a }, RowMath.MinRows(vocab)); break;
                default: throw new ArgumentOutOfRangeException(nameof(o), $"unknown divergence {o.Kind}");
            }
        }
        double sum = 0;
        for (int r = 0; r < rows; r++) sum += rowLoss[r];
        int kept = KeptRows(labels, ignoreIndex, rows);
        return kept == 0 ? 0f : (float)(sum / kept);
    }

    // dLoss: upstream gradient of the mean.  dStudent: (rows, V), ADDED to.  teacher, student, labels, saved: as in forward
    // overwrite: dStudent is written, not added to (ignored rows get 0); it may then be the student's own storage — each
    // element is read before its gradient is stored over it — which saves the (rows, V) gradient buffer and its zero-fill
    public static void TokenDivergenceBackward(DivergenceOptions o, ReadOnlySpan<float> teacher, ReadOnlySpan<float> student, int vocab,
        ReadOnlySpan<int> labels, int ignoreIndex, ReadOnlySpan<float> saved, float dLoss, Span<float> dStudent, bool overwrite = false)
    {
        int rows = Check(o, teacher, student, vocab, labels, saved, "TokenDivergenceBackward");
        if (dStudent.Length != student.Length) throw new ArgumentException($"TokenDivergenceBackward: dStudent has {dStudent.Length} values, student {student.Length}");
        int kept = KeptRows(labels, ignoreIndex, rows);
        if (kept == 0 || dLoss == 0f)
        {
            if (overwrite) dStudent.Clear();
            return;
        }
        fixed (float* pt = teacher) fixed (float* ps = student) fixed (int* pl = labels) fixed (float* pd = dStudent) fixed (float* pv = saved)
        {
            // chain rule: d(mean)/d(rowLoss) = 1/kept, and s = z/τ gives ∂/∂z = (1/τ) ∂/∂s
            var a = new Args { T = pt, S = ps, Labels = labels.IsEmpty ? null : pl, Ignore = ignoreIndex, V = vocab, Rows = rows, InvTau = 1f / o.Temperature, Coefs = Coefs(o), Saved = pv, Out = pd, Scale = dLoss / kept / o.Temperature, Overwrite = overwrite };
            switch (o.Kind)
            {
                case DivergenceKind.ForwardKl: Workers.For(rows, new Bwd<ForwardKlTerm> { A = a }, RowMath.MinRows(vocab)); break;
                case DivergenceKind.ReverseKl: Workers.For(rows, new Bwd<ReverseKlTerm> { A = a }, RowMath.MinRows(vocab)); break;
                case DivergenceKind.Jsd: Workers.For(rows, new Bwd<JsdTerm> { A = a }, RowMath.MinRows(vocab)); break;
                case DivergenceKind.Tvd: Workers.For(rows, new Bwd<TvdTerm> { A = a }, RowMath.MinRows(vocab)); break;
                case DivergenceKind.SkewForwardKl: Workers.For(rows, new Bwd<SkewForwardKlTerm> { A = a }, RowMath.MinRows(vocab)); break;
                case DivergenceKind.SkewReverseKl: Workers.For(rows, new Bwd<SkewReverseKlTerm> { A = a }, RowMath.MinRows(vocab)); break;
                default: throw new ArgumentOutOfRangeException(nameof(o), $"unknown divergence {o.Kind}");
            }
        }
    }

    static TermCoefs Coefs(DivergenceOptions o) => new(o.Kind switch
    {
        DivergenceKind.Jsd => o.Beta,
        DivergenceKind.SkewForwardKl or DivergenceKind.SkewReverseKl => o.Alpha,
        _ => 0.5f,   // unused by the other kinds; any value with finite logs
    });

    internal static int KeptRows(ReadOnlySpan<int> labels, int ignoreIndex, int rows)
    {
        if (labels.IsEmpty) return rows;
        int kept = 0;
        foreach (int l in labels) if (l != ignoreIndex) kept++;
        return kept;
    }

    static int Check(DivergenceOptions o, ReadOnlySpan<float> teacher, ReadOnlySpan<float> student, int vocab, ReadOnlySpan<int> labels, ReadOnlySpan<float> saved, string who)
    {
        o.Validate();
        RowMath.CheckRows(student.Length, vocab, "student logits", who);
        if (teacher.Length != student.Length)
            throw new ArgumentException($"{who}: teacher logits have {teacher.Length} values, student logits {student.Length}; both must be (rows, V) over one shared vocabulary of {vocab}");
        int rows = student.Length / vocab;
        if (!labels.IsEmpty && labels.Length != rows) throw new ArgumentException($"{who}: {labels.Length} labels for {rows} rows");
        if (saved.Length != 3 * rows) throw new ArgumentException($"{who}: saved needs 3·rows = {3 * rows} values, got {saved.Length}");
        return rows;
    }

    struct Args
    {
        public float* T, S, Saved, Out; public int* Labels; public int Ignore, V, Rows; public float InvTau, Scale; public TermCoefs Coefs; public bool Overwrite;
        public readonly bool Ignored(int r) => Labels != null && Labels[r] == Ignore;
        public readonly ReadOnlySpan<float> TeacherRow(int r) => new(T + (long)r * V, V);
        public readonly ReadOnlySpan<float> StudentRow(int r) => new(S + (long)r * V, V);

        /// <summary>Forward: an ignored row gets loss 0 and zero saved state; returns true if r is ignored.</summary>
        public readonly bool SkipIgnoredForward(int r)
        {
            if (!Ignored(r)) return false;
            Out[r] = 0f; Saved[r] = Saved[Rows + r] = Saved[2 * Rows + r] = 0f;
            return true;
        }
    }

    struct Fwd<TTerm> : IRangeBody where TTerm : struct, IDivergenceTerm
    {
        public Args A;
        public void Run(int begin, int end)
        {
            int w = RowMath.W, V = A.V;
            var vt = Vector256.Create(A.InvTau);
            for (int r = begin; r < end; r++)
            {
                if (A.SkipIgnoredForward(r)) continue;
                ReadOnlySpan<float> t = A.TeacherRow(r), s = A.StudentRow(r);
                float lseT = RowMath.LogSumExp(t, A.InvTau), lseS = RowMath.LogSumExp(s, A.InvTau);
                var vlt = Vector256.Create(lseT); var vls = Vector256.Create(lseS);
                ref float t0 = ref MemoryMarshal.GetReference(t);
                ref float s0 = ref MemoryMarshal.GetReference(s);
                Vector256<float> accL = default, accH = default;
                int i = 0;
                for (; i + w <= V; i += w)
                {
                    var lp = Vector256.LoadUnsafe(ref t0, (nuint)i) * vt - vlt;
                    var lq = Vector256.LoadUnsafe(ref s0, (nuint)i) * vt - vls;
                    TTerm.Term(lp, lq, Vector256.Exp(lp), Vector256.Exp(lq), in A.Coefs, out var l, out var h);
                    accL += l; accH += h;
                }
                if (i < V)
                {
                    int rem = V - i;   // padded lanes hold logit 0 (finite) and are masked out of both sums
                    var lp = RowMath.LoadTail(t, i, rem, 0f) * vt - vlt;
                    var lq = RowMath.LoadTail(s, i, rem, 0f) * vt - vls;
                    TTerm.Term(lp, lq, Vector256.Exp(lp), Vector256.Exp(lq), in A.Coefs, out var l, out var h);
                    var m = RowMath.TailMask(rem);
                    accL += l & m; accH += h & m;
                }
                A.Out[r] = Vector256.Sum(accL);
                A.Saved[r] = lseT; A.Saved[A.Rows + r] = lseS; A.Saved[2 * A.Rows + r] = Vector256.Sum(accH);
            }
        }
    }

    /// <summary>
    /// Single-pass forward for the two plain KLs, which are linear in the log-probabilities: with
    /// a = t/τ − max_t, b = s/τ − max_s, S_a = Σ e^a, S_b = Σ e^b,
    ///   KL(p‖q) = Σ e^a (a − b) / S_a − log S_a + log S_b,   Σh = −1;
    ///   KL(q‖p) = Σ e^b (b − a) / S_b − log S_b + log S_a,   Σh = KL(q‖p) + 1.
    /// Two exps per element instead of the generic path's four (two log-sum-exp passes, then p and q);
    /// it gives the same values (the same double-reference and torch-golden tests cover it).
    /// </summary>
    struct FwdKl : IRangeBody
    {
        public Args A; public bool Reverse;
        public void Run(int begin, int end)
        {
            int w = RowMath.W, V = A.V;
            var vt = Vector256.Create(A.InvTau);
            for (int r = begin; r < end; r++)
            {
                if (A.SkipIgnoredForward(r)) continue;
                ReadOnlySpan<float> t = A.TeacherRow(r), s = A.StudentRow(r);
                float mt = TensorPrimitives.Max(t) * A.InvTau, ms = TensorPrimitives.Max(s) * A.InvTau;   // τ > 0
                var vmt = Vector256.Create(mt); var vms = Vector256.Create(ms);
                ref float t0 = ref MemoryMarshal.GetReference(t);
                ref float s0 = ref MemoryMarshal.GetReference(s);
                Vector256<float> sa = default, sb = default, wsum = default;
                int i = 0;
                for (; i + w <= V; i += w)
                {
                    var a = Vector256.LoadUnsafe(ref t0, (nuint)i) * vt - vmt;
                    var b = Vector256.LoadUnsafe(ref s0, (nuint)i) * vt - vms;
                    var ea = Vector256.Exp(a); var eb = Vector256.Exp(b);
                    sa += ea; sb += eb;
                    wsum += Reverse ? eb * (b - a) : ea * (a - b);
                }
                if (i < V)
                {
                    int rem = V - i;   // padded lanes masked out of all three sums
                    var m = RowMath.TailMask(rem);
                    var a = RowMath.LoadTail(t, i, rem, 0f) * vt - vmt;
                    var b = RowMath.LoadTail(s, i, rem, 0f) * vt - vms;
                    var ea = Vector256.Exp(a) & m; var eb = Vector256.Exp(b) & m;
                    sa += ea; sb += eb;
                    wsum += Reverse ? eb * (b - a) : ea * (a - b);
                }
                float Sa = Vector256.Sum(sa), Sb = Vector256.Sum(sb), W = Vector256.Sum(wsum);
                float logSa = MathF.Log(Sa), logSb = MathF.Log(Sb);
                float kl = Reverse ? W / Sb - logSb + logSa : W / Sa - logSa + logSb;
                A.Out[r] = kl;
                A.Saved[r] = mt + logSa; A.Saved[A.Rows + r] = ms + logSb;
                A.Saved[2 * A.Rows + r] = Reverse ? kl + 1f : -1f;
            }
        }
    }

    struct Bwd<TTerm> : IRangeBody where TTerm : struct, IDivergenceTerm
    {
        public Args A;
        public void Run(int begin, int end)
        {
            int w = RowMath.W, V = A.V;
            var vt = Vector256.Create(A.InvTau); var vscale = Vector256.Create(A.Scale);
            for (int r = begin; r < end; r++)
            {
                var d = new Span<float>(A.Out + (long)r * V, V);
                if (A.Ignored(r))
                {
                    if (A.Overwrite) d.Clear();
                    continue;
                }
                ReadOnlySpan<float> t = A.TeacherRow(r), s = A.StudentRow(r);
                var vlt = Vector256.Create(A.Saved[r]); var vls = Vector256.Create(A.Saved[A.Rows + r]); var vc = Vector256.Create(A.Saved[2 * A.Rows + r]);
                ref float t0 = ref MemoryMarshal.GetReference(t);
                ref float s0 = ref MemoryMarshal.GetReference(s);
                ref float d0 = ref MemoryMarshal.GetReference(d);
                int i = 0;
                for (; i + w <= V; i += w)
                {
                    var lp = Vector256.LoadUnsafe(ref t0, (nuint)i) * vt - vlt;
                    var lq = Vector256.LoadUnsafe(ref s0, (nuint)i) * vt - vls;
                    var q = Vector256.Exp(lq);
                    TTerm.Term(lp, lq, Vector256.Exp(lp), q, in A.Coefs, out _, out var h);
                    var g = vscale * (h - q * vc);
                    (A.Overwrite ? g : Vector256.LoadUnsafe(ref d0, (nuint)i) + g).StoreUnsafe(ref d0, (nuint)i);
                }
                if (i < V)
                {
                    int rem = V - i;
                    var lp = RowMath.LoadTail(t, i, rem, 0f) * vt - vlt;
                    var lq = RowMath.LoadTail(s, i, rem, 0f) * vt - vls;
                    var q = Vector256.Exp(lq);
                    TTerm.Term(lp, lq, Vector256.Exp(lp), q, in A.Coefs, out _, out var h);
                    var g = vscale * (h - q * vc);
                    if (A.Overwrite) for (int l = 0; l < rem; l++) d[i + l] = g.GetElement(l);   // only the rem real lanes
                    else RowMath.AddTail(g, d, i, rem);
                }
            }
        }
    }
}
