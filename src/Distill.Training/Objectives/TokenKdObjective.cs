using Distill.Models;
using Distill.Models.Generation;
using Distill.Models.Lora;
using Distill.Tensors;
using Distill.Tensors.Autograd;
using Distill.Tensors.Autograd.Ops.Losses;
using Distill.Tensors.Kernels.Losses;
using Distill.Training.Data;

namespace Distill.Training.Objectives;

/// <summary>
/// On-policy settings of GKD (Agarwal et al. 2024, Algorithm 1): with probability <see cref="Lambda"/> a micro-batch's
/// completions are replaced by the student's own samples (temperature <see cref="Temperature"/>, at most
/// <see cref="MaxNewTokens"/> tokens, stopping at an EOS id) before the teacher scores them. λ = 0 is plain
/// (supervised) KD on the dataset's completions.
/// </summary>
public sealed record OnPolicyOptions(double Lambda = 0, float Temperature = 1f, int MaxNewTokens = 128)
{
    public IReadOnlyList<int> EosTokenIds { get; init; } = [];

    public void Validate()
    {
        if (!(Lambda >= 0 && Lambda <= 1)) throw new ArgumentOutOfRangeException(nameof(Lambda), $"GKD: the on-policy fraction λ must be in [0, 1], got {Lambda}");
        if (!(Temperature > 0) || !float.IsFinite(Temperature)) throw new ArgumentOutOfRangeException(nameof(Temperature), $"GKD: sampling temperature must be > 0, got {Temperature}");
        if (MaxNewTokens < 1) throw new ArgumentOutOfRangeException(nameof(MaxNewTokens), $"GKD: max new tokens must be ≥ 1, got {MaxNewTokens}");
    }
}

/// <summary>
/// Token-level distillation from a local teacher that shares the student's vocabulary (Hinton et al. 2015; the
/// f-divergences of DistiLLM; GKD's on-policy mix): per completion token, a divergence between the teacher's and the
/// student's next-token distributions at temperature τ (<see cref="DivergenceOptions"/>, the engine's
/// TokenDivergence op), averaged over completion tokens. The teacher runs without gradient on the same ids.
/// Metrics: "kd/on_policy" (fraction of the step's tokens that were student samples).
/// </summary>
public sealed class TokenKdObjective(CausalLM teacher, DivergenceOptions divergence, OnPolicyOptions? onPolicy = null) : IObjective, IDisposable
{
    readonly OnPolicyOptions _onPolicy = onPolicy ?? new OnPolicyOptions();
    readonly Tape _teacherTape = new() { NoGrad = true };

    public string Name => "token-kd";

    public void Initialize(TrainingContext context)
    {
        divergence.Validate();
        _onPolicy.Validate();
        TokenDivergenceKernels.CheckSameVocabulary(teacher.Config.VocabSize, context.Model.Config.VocabSize);
        // The teacher only runs forward: frozen, its weights hold no gradient buffers (a same-size teacher's would double
        // its memory) and the trainer may pack them for the GEMM. Not when it is the trained model itself.
        if (!ReferenceEquals(teacher, context.Model)) teacher.FreezeBase();
    }

    public MicroBatch Prepare(IReadOnlyList<int> indices, TrainingContext context, Rng rng)
    {
        var examples = indices.Select(i => context.Dataset[i]).ToList();
        bool sampled = _onPolicy.Lambda > 0 && rng.NextDouble() < _onPolicy.Lambda;
        if (sampled) examples = Sample(context.Model, examples, rng);
        var seq = Collator.Completions(examples, context.MaxLength, context.PadTokenId);
        return new MicroBatch(seq, [.. indices], seq.LabelCount) { Examples = examples, OnPolicy = sampled };
    }

    /// <summary>The student's completions for each prompt (adapter dropout off while sampling, as in eval mode).</summary>
    List<TrainingExample> Sample(CausalLM student, List<TrainingExample> examples, Rng rng)
    {
        LoraModel.SetTraining(student, false);
        try
        {
            // one seed per example drawn from the training stream (so resume replays it), then all prompts decoded together
            var seeds = examples.Select(_ => rng.NextUInt64()).ToArray();
            var o = new SamplingOptions { MaxNewTokens = _onPolicy.MaxNewTokens, Temperature = _onPolicy.Temperature, EosTokenIds = _onPolicy.EosTokenIds, N = 1 };
            var samples = BatchSampler.Generate(student, examples.Select(e => e.Prompt).ToList(), o, seeds: seeds);
            return examples.Select((e, i) => e with { Completion = samples[i][0].Ids }).ToList();
        }
        finally { LoraModel.SetTraining(student, true); }
    }

    public ObjectiveOutput Step(Tape tape, MicroBatch batch, float weight, TrainingContext context)
    {
        var s = batch.Sequences;
        using var mask = s.KeyMaskTensor();
        _teacherTape.Reset();
        // both heads on the labelled rows only (LossRows): unlabelled rows never count in the divergence
        var kept = LossRows.Kept(s.Labels);
        var teacherLogits = teacher.Forward(_teacherTape, s.Ids, s.Rows, mask, kept?.Rows);
        var studentLogits = context.Model.Forward(tape, s.Ids, s.Rows, mask, kept?.Rows);
        // the divergence is the student logits' only reader: its backward writes their gradient in place
        var loss = TokenDivergence.Forward(tape, teacherLogits, studentLogits, kept?.Labels ?? s.Labels, divergence, overwriteStudent: true);
        float value = loss[0];
        if (batch.Units > 0 && float.IsFinite(value)) tape.Backward(loss, weight);
        return new ObjectiveOutput(value, new Dictionary<string, float> { ["kd/on_policy"] = batch.OnPolicy ? 1f : 0f });
    }

    public IReadOnlyList<CausalLM> FrozenModels => [teacher];

    public void Dispose() => _teacherTape.Dispose();
}
