using Distill.Models;
using Distill.Models.Lora;
using Distill.Models.Formats;
using Distill.Tensors.Autograd;
using Distill.Tensors.Autograd.Ops.Losses;
using Distill.Training.Data;

namespace Distill.Training.Objectives;

/// <summary>
/// Sequence log-probabilities log π(y|x) = Σ_t log p(y_t | x, y_&lt;t) over completion tokens (summed, and the
/// length-normalised mean ℓ for IPO and PLaD), through the engine's SequenceLogProb op on a collated batch.
/// The DPO reference is the same model with every LoRA adapter switched off (PEFT's disable_adapter), scored once
/// per dataset before training and cached (TRL's precompute_ref_log_probs); with full fine-tuning the reference is
/// the initial weights, which is what a score taken before the first step sees.
/// </summary>
public static class SequenceScorer
{
    /// <summary>Summed and mean completion log-probs of each scored sequence of <paramref name="batch"/> (its rows, or a shared pair batch's 2 per pair), without gradient.</summary>
    public static (float[] Sum, float[] Mean) Score(CausalLM model, SequenceBatch batch)
    {
        using var tape = new Tape { NoGrad = true };
        return Score(model, batch, tape);
    }

    /// <summary>
    /// The same on a caller's no-grad tape, reset first: scoring a dataset batch by batch on one tape reuses its arena,
    /// where a tape per batch would take (and page-fault in) fresh memory every time.
    /// </summary>
    public static (float[] Sum, float[] Mean) Score(CausalLM model, SequenceBatch batch, Tape tape)
    {
        if (!tape.NoGrad) throw new ArgumentException("SequenceScorer.Score: the tape must be a no-grad tape", nameof(tape));
        tape.Reset();
        using var mask = batch.KeyMaskTensor();
        // the head on the labelled rows only, in the layout PreferenceObjective uses, so policy and reference match bit for bit
        var kept = LossRows.PerSequence(batch);
        var labels = kept?.Labels ?? batch.Labels;
        var logits = model.Forward(tape, batch.Ids, batch.Rows, mask, kept?.Rows, batch.Branches);
        var sum = SequenceLogProb.Forward(tape, logits, labels, batch.Sequences).Span.ToArray();
        // the kernel's own mean (not sum / n here), so a policy scored with lengthNormalized equals it bit for bit
        var mean = SequenceLogProb.Forward(tape, logits, labels, batch.Sequences, lengthNormalized: true).Span.ToArray();
        return (sum, mean);
    }

    /// <summary>
    /// Reference log-probs of every example's chosen and rejected answer, with adapters off, in dataset order,
    /// batch by batch. Cached in <paramref name="cacheFile"/> (safetensors, float32, exact) when given: a resumed run
    /// reads the very numbers the first run used. <paramref name="sharePrompt"/>: collated as the policy is
    /// (<see cref="PreferenceObjective.Collate"/>), so an unchanged adapter scores what the reference did.
    /// <paramref name="progress"/> hears the pairs scored after each batch (stage "<paramref name="stage"/> reference
    /// log-probs", unit "pairs"): on a large dataset this pass takes minutes to hours before the first step.
    /// </summary>
    public static ReferenceLogProbs Reference(CausalLM model, IReadOnlyList<TrainingExample> data, int batchSize, int maxLength, int padId, string? cacheFile = null, bool sharePrompt = true,
        IProgress<TrainingProgress>? progress = null, string stage = "")
    {
        if (cacheFile is not null && File.Exists(cacheFile))
        {
            using var f = SafetensorsFile.Open(cacheFile);
            var cached = new ReferenceLogProbs(f.ReadFloat32("chosen_sum"), f.ReadFloat32("rejected_sum"), f.ReadFloat32("chosen_mean"), f.ReadFloat32("rejected_mean"));
            if (cached.ChosenSum.Length != data.Count)
                throw new InvalidOperationException($"{cacheFile}: reference log-probs for {cached.ChosenSum.Length} examples, but the dataset has {data.Count}; delete the file or use a fresh output folder");
            return cached;
        }
        int n = data.Count;
        var r = new ReferenceLogProbs(new float[n], new float[n], new float[n], new float[n]);
        string what = stage.Length == 0 ? "reference log-probs" : stage + " reference log-probs";
        // the batches already scored by an interrupted pass (a kill, a crash) are read back, not scored again
        using var journal = cacheFile is null ? null : ReferenceJournal.Open(cacheFile + ".partial", n, batchSize, r);
        int start = journal?.Done ?? 0;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        long tokens = 0;
        progress?.Report(new TrainingProgress(what, start, n, 0, float.NaN, 0, null) { Unit = "pairs" });
        LoraModel.SetEnabled(model, false);
        using var tape = new Tape { NoGrad = true };
        try
        {
            for (int s = start; s < n; s += batchSize)
            {
                var chunk = Enumerable.Range(s, Math.Min(batchSize, n - s)).Select(i => data[i]).ToList();
                var batch = PreferenceObjective.Collate(chunk, maxLength, padId, sharePrompt);
                var (sum, mean) = Score(model, batch, tape);
                tokens += batch.Ids.Length;
                int b = chunk.Count;
                sum.AsSpan(0, b).CopyTo(r.ChosenSum.AsSpan(s));
                sum.AsSpan(b, b).CopyTo(r.RejectedSum.AsSpan(s));
                mean.AsSpan(0, b).CopyTo(r.ChosenMean.AsSpan(s));
                mean.AsSpan(b, b).CopyTo(r.RejectedMean.AsSpan(s));
                journal?.Append(r, s, b);
                if (progress is not null)
                {
                    int done = s + b;
                    double seconds = clock.Elapsed.TotalSeconds;
                    progress.Report(new TrainingProgress(what, done, n, 0, float.NaN, tokens / Math.Max(seconds, 1e-9),
                        TimeSpan.FromSeconds(seconds / (done - start) * (n - done))) { Unit = "pairs" });
                }
            }
        }
        finally { LoraModel.SetEnabled(model, true); }
        if (cacheFile is not null)
        {
            string tmp = cacheFile + ".tmp";
            SafetensorsWriter.Write(tmp, [
                new NamedTensor("chosen_sum", new[] { n }, r.ChosenSum), new NamedTensor("rejected_sum", new[] { n }, r.RejectedSum),
                new NamedTensor("chosen_mean", new[] { n }, r.ChosenMean), new NamedTensor("rejected_mean", new[] { n }, r.RejectedMean)]);
            File.Move(tmp, cacheFile, overwrite: true);
            journal!.Delete();
        }
        return r;
    }
}

/// <summary>Reference log-probs per dataset example: summed (DPO, hinge) and length-normalised (IPO).</summary>
public sealed record ReferenceLogProbs(float[] ChosenSum, float[] RejectedSum, float[] ChosenMean, float[] RejectedMean);
