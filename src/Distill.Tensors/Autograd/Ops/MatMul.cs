using Distill.Tensors.Kernels;

namespace Distill.Tensors.Autograd.Ops;

/// <summary>
/// Batched matrix product C[i] = op(A[i]) · op(B[i]) over the leading dimension (rank 3), or one
/// product (rank 2). op(X) = X or Xᵀ. Backward (for C = A·B): dA += dC·Bᵀ, dB += Aᵀ·dC, with the
/// transposes folded into the GEMM flags. Slots: A, B, I0 = transA, I1 = transB.
/// </summary>
public sealed class MatMul : Op
{
    static readonly MatMul Instance = new();
    public override string Name => nameof(MatMul);

    public static Tensor Forward(Tape tape, Tensor a, Tensor b, bool transA = false, bool transB = false)
    {
        var (batch, m, k, n) = Sizes(a, b, transA, transB);
        var c = a.Rank == 3 ? tape.New([batch, m, n]) : tape.New(m, n);
        int sa = a.Rows / batch * a.Cols, sb = b.Rows / batch * b.Cols;
        for (int i = 0; i < batch; i++)
            Gemm.Sgemm(transA, transB, m, n, k, 1f, a.Span.Slice(i * sa, sa), a.Cols, b.Span.Slice(i * sb, sb), b.Cols, 0f,
                c.Span.Slice(i * m * n, m * n), n);
        if (tape.NeedsGrad(a, b)) tape.Record(new TapeEntry { Op = Instance, Out = c, A = a, B = b, I0 = transA ? 1 : 0, I1 = transB ? 1 : 0 });
        return c;
    }

    static (int Batch, int M, int K, int N) Sizes(Tensor a, Tensor b, bool tA, bool tB)
    {
        if (a.Rank != b.Rank || a.Rank is not (2 or 3)) throw new ArgumentException($"MatMul: operands must both be rank 2 or 3, got {Tensor.ShapeString(a.Shape)} and {Tensor.ShapeString(b.Shape)}");
        int batch = a.Rank == 3 ? a.Dim(0) : 1;
        if (a.Rank == 3 && b.Dim(0) != batch) throw new ArgumentException($"MatMul: batch {batch} vs {b.Dim(0)}");
        int ar = a.Dim(a.Rank - 2), ac = a.Cols, br = b.Dim(b.Rank - 2), bc = b.Cols;
        int m = tA ? ac : ar, k = tA ? ar : ac, kb = tB ? bc : br, n = tB ? br : bc;
        if (k != kb) throw new ArgumentException($"MatMul: inner sizes differ: {Tensor.ShapeString(a.Shape)}{(tA ? "ᵀ" : "")} · {Tensor.ShapeString(b.Shape)}{(tB ? "ᵀ" : "")}");
        return (batch, m, k, n);
    }

    public override void Backward(Tape tape, in TapeEntry e)
    {
        Tensor a = e.A!, b = e.B!, dc = e.Out.Grad!;
        bool tA = e.I0 == 1, tB = e.I1 == 1;
        var (batch, m, k, n) = Sizes(a, b, tA, tB);
        int sa = a.Rows / batch * a.Cols, sb = b.Rows / batch * b.Cols;
        var da = tape.GradOf(a);
        var db = tape.GradOf(b);
        for (int i = 0; i < batch; i++)
        {
            var dci = dc.Span.Slice(i * m * n, m * n);
            var ai = a.Span.Slice(i * sa, sa);
            var bi = b.Span.Slice(i * sb, sb);
            // op(A) = dC · op(B)ᵀ  →  A = dC·op(B)ᵀ or (dC·op(B)ᵀ)ᵀ = op(B)·dCᵀ
            if (da is not null)
            {
                var dai = da.Span.Slice(i * sa, sa);
                if (!tA) Gemm.Sgemm(false, !tB, m, k, n, 1f, dci, n, bi, b.Cols, 1f, dai, a.Cols);
                else Gemm.Sgemm(tB, true, k, m, n, 1f, bi, b.Cols, dci, n, 1f, dai, a.Cols);
            }
            // op(B) = op(A)ᵀ · dC  →  B = op(A)ᵀ·dC or dCᵀ·op(A)
            if (db is not null)
            {
                var dbi = db.Span.Slice(i * sb, sb);
                if (!tB) Gemm.Sgemm(!tA, false, k, n, m, 1f, ai, a.Cols, dci, n, 1f, dbi, b.Cols);
                else Gemm.Sgemm(true, tA, n, k, m, 1f, dci, n, ai, a.Cols, 1f, dbi, b.Cols);
            }
        }
    }
}
