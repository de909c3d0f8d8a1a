using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Distill.Tensors.Threading;

namespace Distill.Tensors.Kernels.Losses;

/// <summary>
/// Per-sequence log-probability of target tokens, log π(y|x) = Σ_t log p(y_t | x, y_&lt;t) over the
/// completion tokens (REFERENCE.md "DPO and its relatives"; TRL's DPOTrainer.get_batch_logps), and its
/// length-normalised form ℓ = (1/|y|) Σ_t log p (PLaD; TRL's IPO "average_log_prob").
///
/// Alignment: this kernel takes ALREADY-ALIGNED logits and targets: row (b, t) of the logits scores
/// targets[b, t]. Hugging Face causal LMs emit at position t the distribution of token t+1, so the
/// CALLER shifts, exactly as TRL does (logits[:, :-1, :] with labels[:, 1:]): pass the logits of
/// positions 0..T−2 and the input ids of positions 1..T−1. Prompt and padding targets carry
/// ignoreIndex (−100, as in HF labels) and never count.
///
/// Forward overwrites its outputs; backward ADDS into dlogits. Rows (b, t) are split across threads;
/// the per-sequence sums over t run serially afterwards, so results do not depend on thread count.
/// A sequence with no kept token has sum 0, mean 0 and no gradient.
/// </summary>
public static unsafe class SequenceLogProbKernels
{
    // logits: (B, T, V)  targets: (B, T)  tokenLogp: (B, T), 0 where ignored  lse: (B, T) saved for backward
    // logpSum, logpMean: (B)
    public static void SequenceLogProbForward(ReadOnlySpan<float> logits, int batch, int vocab, ReadOnlySpan<int> targets, int ignoreIndex,
        Span<float> tokenLogp, Span<float> lse, Span<float> logpSum, Span<float> logpMean)
    {
        int seqLen = Check(logits, batch, vocab, targets, ignoreIndex, "SequenceLogProbForward");
        if (tokenLogp.Length != targets.Length || lse.Length != targets.Length)
            throw new ArgumentException($"SequenceLogProbForward: tokenLogp and lse need {targets.Length} values (B·T), got {tokenLogp.Length} and {lse.Length}");
        if (logpSum.Length != batch || logpMean.Length != batch)
            throw new ArgumentException($"SequenceLogProbForward: logpSum and logpMean need {batch} values (B), got {logpSum.Length} and {logpMean.Length}");
        fixed (float* pl = logits) fixed (int* pt = targets) fixed (float* ptok = tokenLogp) fixed (float* ps = lse)
            Workers.For(targets.Length, new FwdBody { L = pl, T = pt, Tok = ptok, Lse = ps, V = vocab, Ignore = ignoreIndex }, RowMath.MinRows(vocab));
        for (int b = 0; b < batch; b++)
        {
            double s = 0; int n = 0;   // double: a long completion sums hundreds of terms of −1…−10
            for (int t = 0; t < seqLen; t++)
                if (targets[b * seqLen + t] != ignoreIndex) { s += tokenLogp[b * seqLen + t]; n++; }
            logpSum[b] = (float)s;
            logpMean[b] = n == 0 ? 0f : (float)(s / n);
        }
    }

    struct FwdBody : IRangeBody
    {
        public float* L, Tok, Lse; public int* T; public int V, Ignore;
        public void Run(int begin, int end)
        {
            for (int r = begin; r < end; r++)
            {
                if (T[r] == Ignore) { Tok[r] = 0f; Lse[r] = 0f; continue; }   // ignored rows cost nothing
                var row = new ReadOnlySpan<float>(L + (long)r * V, V);
                float lse = RowMath.LogSumExp(row, 1f);
                Lse[r] = lse;
                Tok[r] = row[T[r]] - lse;
            }
        }
    }

    // dLogpSum, dLogpMean: (B), upstream gradients of the two outputs (either may be empty = zero)
    // dlogits: (B, T, V).  dlogits[b,t,:] += (dSum_b + dMean_b / n_b) · (onehot(y_bt) − softmax(logits[b,t,:]))
    public static void SequenceLogProbBackward(ReadOnlySpan<float> logits, int batch, int vocab, ReadOnlySpan<int> targets, int ignoreIndex,
        ReadOnlySpan<float> lse, ReadOnlySpan<float> dLogpSum, ReadOnlySpan<float> dLogpMean, Span<float> dlogits)
    {
        int seqLen = Check(logits, batch, vocab, targets, ignoreIndex, "SequenceLogProbBackward");
        if (dlogits.Length != logits.Length) throw new ArgumentException($"SequenceLogProbBackward: dlogits has {dlogits.Length} values, logits {logits.Length}");
        if (lse.Length != targets.Length) throw new ArgumentException($"SequenceLogProbBackward: lse needs {targets.Length} values (B·T), got {lse.Length}");
        if (!dLogpSum.IsEmpty && dLogpSum.Length != batch) throw new ArgumentException($"SequenceLogProbBackward: dLogpSum needs {batch} values, got {dLogpSum.Length}");
        if (!dLogpMean.IsEmpty && dLogpMean.Length != batch) throw new ArgumentException($"SequenceLogProbBackward: dLogpMean needs {batch} values, got {dLogpMean.Length}");
        // per-sequence coefficient of d(log p_t): both outputs are linear in the token log-probs
        Span<float> coef = batch <= 256 ? stackalloc float[batch] : new float[batch];
        for (int b = 0; b < batch; b++)
        {
            int n = 0;
            for (int t = 0; t < seqLen; t++) if (targets[b * seqLen + t] != ignoreIndex) n++;
            float c = dLogpSum.IsEmpty ? 0f : dLogpSum[b];
            if (n > 0 && !dLogpMean.IsEmpty) c += dLogpMean[b] / n;
            coef[b] = c;
        }
        fixed (float* pl = logits) fixed (int* pt = targets) fixed (float* ps = lse) fixed (float* pd = dlogits) fixed (float* pc = coef)
            Workers.For(targets.Length, new BwdBody { L = pl, T = pt, Lse = ps, D = pd, C = pc, V = vocab, Ignore = ignoreIndex, SeqLen = seqLen }, RowMath.MinRows(vocab));
    }

    struct BwdBody : IRangeBody
    {
        public float* L, Lse, D, C; public int* T; public int V, Ignore, SeqLen;
        public void Run(int begin, int end)
        {
            int w = RowMath.W;
            for (int r = begin; r < end; r++)
            {
                float c = C[r / SeqLen];
                if (T[r] == Ignore || c == 0f) continue;
                var row = new ReadOnlySpan<float>(L + (long)r * V, V);
                var d = new Span<float>(D + (long)r * V, V);
                ref float l0 = ref MemoryMarshal.GetReference(row);
                ref float d0 = ref MemoryMarshal.GetReference(d);
                var vl = Vector256.Create(Lse[r]); var vc = Vector256.Create(-c);
                int i = 0;
                for (; i + w <= V; i += w)   // d −= c · softmax
                    (Vector256.LoadUnsafe(ref d0, (nuint)i) + vc * Vector256.Exp(Vector256.LoadUnsafe(ref l0, (nuint)i) - vl)).StoreUnsafe(ref d0, (nuint)i);
                for (; i < V; i++) d[i] -= c * MathF.Exp(row[i] - Lse[r]);
                d[T[r]] += c;
            }
        }
    }

    static int Check(ReadOnlySpan<float> logits, int batch, int vocab, ReadOnlySpan<int> targets, int ignoreIndex, string who)
    {
        if (batch <= 0) throw new ArgumentOutOfRangeException(nameof(batch), $"{who}: batch must be positive, got {batch}");
        if (targets.Length % batch != 0) throw new ArgumentException($"{who}: {targets.Length} targets do not split into {batch} sequences");
        if (vocab <= 0 || logits.Length != (long)targets.Length * vocab)
            throw new ArgumentException($"{who}: logits have {logits.Length} values, expected B·T·V = {targets.Length}·{vocab} (logits and targets must already be aligned: shift by one on the caller's side)");
        for (int r = 0; r < targets.Length; r++)
            if (targets[r] != ignoreIndex && (uint)targets[r] >= (uint)vocab)
                throw new ArgumentOutOfRangeException(nameof(targets), $"{who}: target {targets[r]} at (b={r / (targets.Length / batch)}, t={r % (targets.Length / batch)}) outside [0, {vocab}) and not the ignore id {ignoreIndex}");
        return targets.Length / batch;
    }
}
