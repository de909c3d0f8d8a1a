using Distill.Tensors;
using Distill.Tensors.Autograd;
using Distill.Tensors.Autograd.Ops;
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

    /// <summary>
    /// τ of the token distribution softmax(z/τ) the sequence likelihood is computed with (PLaD §3.1 Eq. 1; its
    /// Table 5 searches it). Only for the reference-free PLaD losses: the cached DPO reference is scored at τ = 1.
    /// </summary>
    public float Temperature { get; init; } = 1f;

    /// <summary>
    /// Prompt sharing (the default): each pair runs as one row [prompt | chosen | rejected] (<see cref="Collator.SharedPairs"/>),
    /// the prompt through the model once instead of twice, with the same log-probs, losses and gradients as the two rows
    /// of TRL's concatenated_forward (up to float rounding). False: the two rows (<see cref="Collator.Pairs"/>).
    /// </summary>
    public bool SharePrompt { get; init; } = true;

    /// <summary>Overrides <see cref="LengthNormalized"/>'s default (PLaD's length-normalisation ablation: false = summed log-likelihood).</summary>
    public bool? LengthNormalization { get; init; }

    /// <summary>Whether the loss compares with a reference policy (DPO, IPO, hinge) or not (PLaD).</summary>
    public bool NeedsReference => Kind is PreferenceLossKind.Dpo or PreferenceLossKind.Ipo or PreferenceLossKind.Hinge;

    /// <summary>IPO and PLaD work on length-normalised log-likelihoods, DPO and hinge on sums (TRL), unless overridden.</summary>
    public bool LengthNormalized => LengthNormalization ?? Kind is PreferenceLossKind.Ipo or PreferenceLossKind.PladRank or PreferenceLossKind.PladMargin;

    public void Validate()
    {
        if (NeedsReference && (!(Beta > 0) || !float.IsFinite(Beta))) throw new ArgumentOutOfRangeException(nameof(Beta), $"{Kind}: beta must be positive, got {Beta}");
        if (!(Delta >= 0) || !float.IsFinite(Delta)) throw new ArgumentOutOfRangeException(nameof(Delta), $"{Kind}: δ must be ≥ 0, got {Delta}");
        if (!(SftWeight >= 0) || !float.IsFinite(SftWeight)) throw new ArgumentOutOfRangeException(nameof(SftWeight), $"SFT weight must be ≥ 0, got {SftWeight}");
        if (!(Temperature > 0) || !float.IsFinite(Temperature)) throw new ArgumentOutOfRangeException(nameof(Temperature), $"{Kind}: temperature must be positive, got {Temperature}");
        if (NeedsReference && Temperature != 1f)
            throw new ArgumentOutOfRangeException(nameof(Temperature), $"{Kind}: a temperature other than 1 is for the PLaD losses only (the reference log-probs are taken at τ = 1), got {Temperature}");
        if (Kind == PreferenceLossKind.Dpo) new DpoOptions(Beta, LabelSmoothing, Variant).Validate();
    }
}

/// <summary>
/// Preference optimisation on prompt/chosen/rejected pairs: chosen and rejected run in one batch — by default one row per
/// pair with the prompt shared (<see cref="Collator.SharedPairs"/>), else 2B rows as TRL's concatenated_forward
/// (<see cref="PreferenceOptions.SharePrompt"/>) — SequenceLogProb gives log π per answer, the pure loss of <c>Losses/</c> gives the
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
                Path.Combine(context.OutputDir, ReferenceCacheFile), options.SharePrompt, context.Progress, context.Stage);
    }

    public MicroBatch Prepare(IReadOnlyList<int> indices, TrainingContext context, Rng rng)
        => new(Collate(indices.Select(i => context.Dataset[i]).ToList(), context.MaxLength, context.PadTokenId, options.SharePrompt), [.. indices], indices.Count);

    /// <summary>The pairs as the policy and the reference score them: prompt-shared rows, or chosen rows then rejected rows.</summary>
    public static SequenceBatch Collate(IReadOnlyList<TrainingExample> pairs, int maxLength, int padId, bool sharePrompt)
        => sharePrompt ? Collator.SharedPairs(pairs, maxLength, padId) : Collator.Pairs(pairs, maxLength, padId);

    public ObjectiveOutput Step(Tape tape, MicroBatch batch, float weight, TrainingContext context)
    {
        var s = batch.Sequences;
        var idx = batch.Indices;
        using var mask = s.KeyMaskTensor();
        // the head on each sequence's labelled rows only (LossRows.PerSequence keeps SequenceLogProb's per-sequence layout):
        // with 256-token prompts and 128-token answers two thirds of the head's work had no reader
        var kept = LossRows.PerSequence(s);
        var logits = context.Model.Forward(tape, s.Ids, s.Rows, mask, kept?.Rows, s.Branches);
        float[]? rc = null, rr = null;
        if (_reference is { } reference)
        {
            var (c, r) = options.LengthNormalized ? (reference.ChosenMean, reference.RejectedMean) : (reference.ChosenSum, reference.RejectedSum);
            rc = idx.Select(i => c[i]).ToArray();
            rr = idx.Select(i => r[i]).ToArray();
        }
        var sc = idx.Select(i => context.Dataset[i].ChosenScore).ToArray();
        var sr = idx.Select(i => context.Dataset[i].RejectedScore).ToArray();
        return LossOnLogits(tape, logits, kept?.Labels ?? s.Labels, idx.Length, rc, rr, sc, sr, options, weight);
    }

    /// <summary>
    /// Everything after the model's forward: log P(y|x) per row (softmax(z/τ), summed or length-normalised), the
    /// loss of <paramref name="o"/>, the optional NLL term, and the backward seeds (scaled by <paramref name="weight"/>)
    /// handed to the tape. <paramref name="logits"/> holds 2B aligned rows, chosen first; <paramref name="labels"/>
    /// uses −100 for ignored positions. The reference log-probs (summed or mean, as <see cref="PreferenceOptions.LengthNormalized"/>)
    /// are needed by DPO/IPO/hinge; the scores by PLaD's margin loss. Checked against preference_reference.py.
    /// </summary>
    public static ObjectiveOutput LossOnLogits(Tape tape, Tensor logits, int[] labels, int pairs, float[]? refChosen, float[]? refRejected,
        float[] chosenScore, float[] rejectedScore, PreferenceOptions o, float weight)
    {
        int b = pairs;
        // PLaD §3.1 Eq. 1: P(y_t | x, y_<t) = softmax(z/τ); the Scale op carries the 1/τ into the gradient
        var scaled = o.Temperature == 1f ? logits : Scale.Forward(tape, logits, 1f / o.Temperature);
        var logpOut = SequenceLogProb.Forward(tape, scaled, labels, 2 * b, o.LengthNormalized);   // (2B): chosen rows, then rejected
        var logp = logpOut.Span.ToArray();
        foreach (float x in logp)
            if (!float.IsFinite(x)) return new ObjectiveOutput(float.NaN, ObjectiveOutput.NoMetrics);
        var pc = logp.AsSpan(0, b);
        var pr = logp.AsSpan(b, b);
        var dLogp = new float[2 * b];
        var dc = dLogp.AsSpan(0, b);
        var dr = dLogp.AsSpan(b, b);
        var res = o.Kind switch
        {
            PreferenceLossKind.Dpo => DpoLoss.Compute(pc, pr, refChosen, refRejected, new DpoOptions(o.Beta, o.LabelSmoothing, o.Variant), dc, dr),
            PreferenceLossKind.Ipo => IpoLoss.Compute(pc, pr, refChosen, refRejected, o.Beta, dc, dr),
            PreferenceLossKind.Hinge => HingeLoss.Compute(pc, pr, refChosen, refRejected, o.Beta, dc, dr),
            PreferenceLossKind.PladRank => PladRankingLoss.Compute(pc, pr, o.Delta, dc, dr),
            _ => PladMarginLoss.Compute(pc, pr, chosenScore, rejectedScore, o.Delta, dc, dr),
        };
        for (int i = 0; i < dLogp.Length; i++) dLogp[i] *= weight;
        float loss = res.Loss;
        var metrics = new Dictionary<string, float>(res.Metrics.ToDictionary());
        if (o.SftWeight > 0)
        {
            // NLL on the chosen rows: −(Σ_rows Σ_t log p) / chosen tokens; d/dlogp_sum(chosen_i) = −w / tokens
            var tokens = new int[b];
            int rowLen = labels.Length / (2 * b);
            for (int r = 0; r < b; r++)
                for (int t = 0; t < rowLen; t++)
                    if (labels[r * rowLen + t] != Collator.IgnoreIndex) tokens[r]++;
            int total = tokens.Sum();
            float nll = 0;
            if (total > 0)
                for (int r = 0; r < b; r++)
                {
                    // with a length-normalised loss logp holds means: scale back by each row's length
                    float rowSum = o.LengthNormalized ? pc[r] * tokens[r] : pc[r];
                    nll -= rowSum / total;
                    dc[r] += -weight * o.SftWeight * (o.LengthNormalized ? tokens[r] : 1) / total;
                }
            loss += o.SftWeight * nll;
            metrics["nll/chosen"] = nll;
        }
        tape.Backward(logpOut, dLogp);
        return new ObjectiveOutput(loss, metrics);
    }
}
