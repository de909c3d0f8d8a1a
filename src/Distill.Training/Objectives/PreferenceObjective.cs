using Distill.Tensors;
using Distill.Tensors.Autograd;
using Distill.Tensors.Autograd.Ops.Losses;
using Distill.Training.Data;
using Distill.Training.Losses;

namespace Distill.Training.Objectives;

/// <summary>The preference losses of <c>Distill.Training.Losses</c>, by their CLI/recipe names.</summary>
public enum PreferenceLossKind { Dpo, Ipo, Hinge, PladRank, PladMargin }

/// <summary>
/// β (DPO, IPO, hinge; TRL's default 0.1), label smoothing ε and variant for DPO, δ for the PLaD losses, and an
/// optional NLL weight: λ_sft · mean cross-entropy on the chosen answer added to the loss (the remedy REFERENCE.md
/// offers when chosen likelihoods collapse; RPO's α).
/// </summary>
public sealed record PreferenceOptions(PreferenceLossKind Kind, float Beta = 0.1f, float LabelSmoothing = 0f, DpoVariant Variant = DpoVariant.Sigmoid, float Delta = 1f)
{
    public float SftWeight { get; init; }

    /// <summary>Whether the loss compares with a reference policy (DPO, IPO, hinge) or not (PLaD).</summary>
    public bool NeedsReference => Kind is PreferenceLossKind.Dpo or PreferenceLossKind.Ipo or PreferenceLossKind.Hinge;

    /// <summary>IPO and PLaD work on length-normalised log-likelihoods; DPO and hinge on sums (TRL).</summary>
    public bool LengthNormalized => Kind is PreferenceLossKind.Ipo or PreferenceLossKind.PladRank or PreferenceLossKind.PladMargin;

    public void Validate()
    {
        if (NeedsReference && (!(Beta > 0) || !float.IsFinite(Beta))) throw new ArgumentOutOfRangeException(nameof(Beta), $"{Kind}: beta must be positive, got {Beta}");
        if (!(Delta >= 0) || !float.IsFinite(Delta)) throw new ArgumentOutOfRangeException(nameof(Delta), $"{Kind}: δ must be ≥ 0, got {Delta}");
        if (!(SftWeight >= 0) || !float.IsFinite(SftWeight)) throw new ArgumentOutOfRangeException(nameof(SftWeight), $"SFT weight must be ≥ 0, got {SftWeight}");
        if (Kind == PreferenceLossKind.Dpo) new DpoOptions(Beta, LabelSmoothing, Variant).Validate();
    }
}

/// <summary>
/// Preference optimisation on prompt/chosen/rejected pairs: chosen and rejected run as one concatenated batch of 2B
/// rows (TRL's concatenated_forward), SequenceLogProb gives log π per row, the pure loss of <c>Losses/</c> gives the
/// loss and dL/dlog π, and the tape back-propagates those seeds. The reference log-probs (adapters off) are scored
/// once over the dataset at <see cref="Initialize"/> and cached in the output folder (reference_logps.safetensors).
/// Units are pairs; metrics are TRL's rewards/* and logps/* (means over pairs).
/// </summary>
public sealed class PreferenceObjective(PreferenceOptions options) : IObjective
{
    public const string ReferenceCacheFile = "reference_logps.safetensors";
    ReferenceLogProbs? _reference;

    public string Name => options.Kind switch
    {
        PreferenceLossKind.Dpo => "dpo", PreferenceLossKind.Ipo => "ipo", PreferenceLossKind.Hinge => "hinge",
        PreferenceLossKind.PladRank => "plad-rank", _ => "plad-margin",
    };

    /// <summary>The cached reference log-probs (null for the reference-free PLaD losses).</summary>
    public ReferenceLogProbs? Reference => _reference;

    /// <summary>Micro-batch size used to score the reference; the trainer sets it to its batch size.</summary>
    public int ReferenceBatchSize { get; set; } = 4;

    public void Initialize(TrainingContext context)
    {
        options.Validate();
        for (int i = 0; i < context.Dataset.Count; i++)
            if (context.Dataset[i].Rejected is null)
                throw new ArgumentException($"{Name}: example {i} has no rejected answer; preference training needs prompt/chosen/rejected records");
        if (options.NeedsReference)
            _reference = SequenceScorer.Reference(context.Model, context.Dataset, ReferenceBatchSize, context.MaxLength, context.PadTokenId,
                Path.Combine(context.OutputDir, ReferenceCacheFile));
    }

    public MicroBatch Prepare(IReadOnlyList<int> indices, TrainingContext context, Rng rng)
        => new(Collator.Pairs(indices.Select(i => context.Dataset[i]).ToList(), context.MaxLength, context.PadTokenId), [.. indices], indices.Count);

    public ObjectiveOutput Step(Tape tape, MicroBatch batch, float weight, TrainingContext context)
    {
        var s = batch.Sequences;
        int b = batch.Indices.Length;
        using var mask = s.KeyMaskTensor();
        var logits = context.Model.Forward(tape, s.Ids, s.Rows, mask);
        var logpOut = SequenceLogProb.Forward(tape, logits, s.Labels, s.Rows, options.LengthNormalized);   // (2B): chosen rows, then rejected
        var logp = logpOut.Span.ToArray();
        foreach (float x in logp)
            if (!float.IsFinite(x)) return new ObjectiveOutput(float.NaN, ObjectiveOutput.NoMetrics);
        var pc = logp.AsSpan(0, b);
        var pr = logp.AsSpan(b, b);
        var dLogp = new float[2 * b];
        var dc = dLogp.AsSpan(0, b);
        var dr = dLogp.AsSpan(b, b);
        var res = Compute(batch, pc, pr, dc, dr, context);
        for (int i = 0; i < dLogp.Length; i++) dLogp[i] *= weight;
        float loss = res.Loss;
        var metrics = new Dictionary<string, float>(res.Metrics.ToDictionary());
        if (options.SftWeight > 0)
        {
            // NLL on the chosen rows: mean −log p over chosen completion tokens; d/dlogp_sum(chosen_i) = −w / tokens
            int tokens = 0;
            for (int r = 0; r < b; r++) tokens += s.Parts[r].Completion;
            float nll = 0;
            if (tokens > 0)
            {
                // the sums are needed: with a length-normalised loss, logp holds means, so scale back by each length
                for (int r = 0; r < b; r++)
                {
                    float rowSum = options.LengthNormalized ? pc[r] * s.Parts[r].Completion : pc[r];
                    nll -= rowSum / tokens;
                    dc[r] += -weight * options.SftWeight * (options.LengthNormalized ? s.Parts[r].Completion : 1) / tokens;
                }
            }
            loss += options.SftWeight * nll;
            metrics["nll/chosen"] = nll;
        }
        tape.Backward(logpOut, dLogp);
        return new ObjectiveOutput(loss, metrics);
    }

    PreferenceLossResult Compute(MicroBatch batch, ReadOnlySpan<float> pc, ReadOnlySpan<float> pr, Span<float> dc, Span<float> dr, TrainingContext context)
    {
        var idx = batch.Indices;
        int b = idx.Length;
        var rc = new float[b];
        var rr = new float[b];
        if (_reference is { } reference)
            for (int i = 0; i < b; i++)
            {
                rc[i] = options.LengthNormalized ? reference.ChosenMean[idx[i]] : reference.ChosenSum[idx[i]];
                rr[i] = options.LengthNormalized ? reference.RejectedMean[idx[i]] : reference.RejectedSum[idx[i]];
            }
        switch (options.Kind)
        {
            case PreferenceLossKind.Dpo: return DpoLoss.Compute(pc, pr, rc, rr, new DpoOptions(options.Beta, options.LabelSmoothing, options.Variant), dc, dr);
            case PreferenceLossKind.Ipo: return IpoLoss.Compute(pc, pr, rc, rr, options.Beta, dc, dr);
            case PreferenceLossKind.Hinge: return HingeLoss.Compute(pc, pr, rc, rr, options.Beta, dc, dr);
            case PreferenceLossKind.PladRank: return PladRankingLoss.Compute(pc, pr, options.Delta, dc, dr);
            default:
                var sc = idx.Select(i => context.Dataset[i].ChosenScore).ToArray();
                var sr = idx.Select(i => context.Dataset[i].RejectedScore).ToArray();
                return PladMarginLoss.Compute(pc, pr, sc, sr, options.Delta, dc, dr);
        }
    }
}
