using System.Numerics.Tensors;
using Distill.Tensors.Threading;

namespace Distill.Tensors.Kernels;

/// <summary>
/// Fused softmax cross-entropy for the TRAINING PATH (note to engine-losses: this is the fused LM-head
/// loss of the training step; the general softmax/log-softmax/CE-with-mask kernels live in Losses/).
/// Forward: per row lse = log Σ exp(logits) and loss_r = lse − logit[target]; mean over rows whose
/// target ≠ ignoreIndex. Backward: dlogits = (softmax − onehot) · scale, written (not added) into a
/// buffer that may be the logits themselves, so the (rows × vocab) gradient costs no extra memory.
/// Rows are split across threads; the mean is summed serially so it does not depend on thread count.
/// </summary>
public static unsafe class CrossEntropyKernels
{
    // logits: (rows, vocab)  targets: (rows)  lse, rowLoss: (rows)
    public static void Forward(ReadOnlySpan<float> logits, int vocab, ReadOnlySpan<int> targets, int ignoreIndex, Span<float> lse, Span<float> rowLoss)
    {
        int rows = targets.Length;
        if (logits.Length != rows * vocab) throw new ArgumentException($"CrossEntropy: logits have {logits.Length} values for {rows} rows × {vocab}");
        for (int r = 0; r < rows; r++)
            if (targets[r] != ignoreIndex && (uint)targets[r] >= (uint)vocab)
                throw new ArgumentOutOfRangeException(nameof(targets), $"CrossEntropy: target {targets[r]} at row {r} outside [0, {vocab})");
        fixed (float* pl = logits) fixed (int* pt = targets) fixed (float* ps = lse) fixed (float* pr = rowLoss)
            Workers.For(rows, new FwdBody { L = pl, T = pt, Lse = ps, Loss = pr, V = vocab, Ignore = ignoreIndex }, 8);
    }

    struct FwdBody : IRangeBody
    {
        public float* L, Lse, Loss; public int* T; public int V, Ignore;
        public void Run(int begin, int end)
        {
            Span<float> tmp = stackalloc float[256];
            for (int r = begin; r < end; r++)
            {
                var row = new ReadOnlySpan<float>(L + (long)r * V, V);
                float max = TensorPrimitives.Max(row);
                // Σ exp(l − max) through TensorPrimitives' vector exp, 1 KiB at a time (scalar MathF.Exp
                // made the forward of a 1024 × 8192 batch ≈ 4× slower); partial sums kept in double.
                double sum = 0;
                for (int j0 = 0; j0 < V; j0 += tmp.Length)
                {
                    var t = tmp[..Math.Min(tmp.Length, V - j0)];
                    TensorPrimitives.Subtract(row.Slice(j0, t.Length), max, t);
                    TensorPrimitives.Exp(t, t);
                    sum += TensorPrimitives.Sum(t);
                }
                float lse = max + (float)Math.Log(sum);
                Lse[r] = lse;
                Loss[r] = T[r] == Ignore ? 0f : lse - row[T[r]];
            }
        }
    }

    /// <summary>dlogits[r] = (softmax(logits[r]) − onehot(target)) · scale, 0 for ignored rows. dlogits may alias logits.</summary>
    public static void Backward(ReadOnlySpan<float> logits, int vocab, ReadOnlySpan<int> targets, int ignoreIndex, ReadOnlySpan<float> lse, float scale, Span<float> dlogits)
    {
        int rows = targets.Length;
        if (dlogits.Length != logits.Length || logits.Length != rows * vocab) throw new ArgumentException("CrossEntropy backward: length mismatch");
        fixed (float* pl = logits) fixed (int* pt = targets) fixed (float* ps = lse) fixed (float* pd = dlogits)
            Workers.For(rows, new BwdBody { L = pl, T = pt, Lse = ps, D = pd, V = vocab, Ignore = ignoreIndex, Scale = scale }, 8);
    }

    struct BwdBody : IRangeBody
    {
        public float* L, Lse, D; public int* T; public int V, Ignore; public float Scale;
        public void Run(int begin, int end)
        {
            for (int r = begin; r < end; r++)
            {
                var d = new Span<float>(D + (long)r * V, V);
                if (T[r] == Ignore) { d.Clear(); continue; }
                var row = new ReadOnlySpan<float>(L + (long)r * V, V);
                TensorPrimitives.Subtract(row, Lse[r], d);   // d aliases row exactly (same start), allowed
                TensorPrimitives.Exp(d, d);
                TensorPrimitives.Multiply(d, Scale, d);
                d[T[r]] -= Scale;
            }
        }
    }
}
