using Distill.Models;
using Distill.Models.Lora;
using Distill.Tensors;
using Distill.Tensors.Autograd;
using Distill.Training.Data;
using Distill.Training.Objectives;

namespace Distill.Training.Tests.Trainer;

/// <summary>
/// Prompt sharing (<see cref="PreferenceOptions.SharePrompt"/>, <see cref="Collator.SharedPairs"/>): one row
/// [prompt | chosen | rejected] per pair gives the log-probs, losses, metrics and LoRA gradients of the two rows of
/// <see cref="Collator.Pairs"/> (TRL's concatenated_forward), up to float rounding, in every family: RoPE (Llama, Qwen3's
/// q/k norms, Phi's partial rotary, Phi-3 with a sliding window and with longrope, Gemma 3's local and global layers
/// with a window shorter than the pairs) and GPT-2's learned positions. The batch is ragged (prompts of 1 to 9 tokens,
/// answers of 1 to 8, chosen and rejected of different lengths) and holds a pair whose truncation keeps different prompt
/// lengths for its two answers (it cannot share and packs as two rows).
/// </summary>
public sealed class SharedPromptTests
{
    const int Vocab = 48, MaxLength = 12;

    static ModelConfig Config(string family)
    {
        var llama = new ModelConfig
        {
            Architecture = "LlamaForCausalLM", ModelType = "llama", Family = ModelFamily.Llama, VocabSize = Vocab, HiddenSize = 32, IntermediateSize = 48,
            NumLayers = 2, NumHeads = 4, NumKvHeads = 2, HeadDim = 8, MaxPositionEmbeddings = 64, NormEps = 1e-5, HiddenAct = "silu",
            TieWordEmbeddings = false, InitializerRange = 0.2, RopeTheta = 10000, BosTokenId = null, EosTokenIds = [],
        };
        return family switch
        {
            "llama" => llama,
            "qwen3" => llama with { Architecture = "Qwen3ForCausalLM", ModelType = "qwen3", QkNorm = true, HeadDim = 12, TieWordEmbeddings = true },
            // a window of 4 positions, far shorter than the pairs: the window must count positions, not packed rows
            "gemma3" => llama with
            {
                Architecture = "Gemma3ForCausalLM", ModelType = "gemma3_text", Family = ModelFamily.Gemma3, NumKvHeads = 1, HiddenAct = "gelu_pytorch_tanh",
                TieWordEmbeddings = true, RopeTheta = 1_000_000, RopeLocalTheta = 10_000, QueryPreAttnScalar = 8, SlidingWindow = 4,
                LayerTypes = ["sliding_attention", "full_attention"], FinalLogitSoftcapping = 30,
            },
            "phi3" => llama with { Architecture = "Phi3ForCausalLM", ModelType = "phi3", Family = ModelFamily.Phi3, NumKvHeads = 4, SlidingWindow = 5 },
            // longrope switches to its long factors past 12 positions: no pair reaches that, but a packed row (up to 20 long) would
            "phi3-longrope" => llama with
            {
                Architecture = "Phi3ForCausalLM", ModelType = "phi3", Family = ModelFamily.Phi3, NumKvHeads = 4, MaxPositionEmbeddings = 48,
                RopeScaling = new RopeScaling("longrope", 4, OriginalMaxPositionEmbeddings: MaxLength) { ShortFactor = [1, 1, 1, 1], LongFactor = [1, 2, 4, 8] },
            },
            "phi" => llama with
            {
                Architecture = "PhiForCausalLM", ModelType = "phi", Family = ModelFamily.Phi, NumKvHeads = 4, HiddenAct = "gelu_new", PartialRotaryFactor = 0.5,
                QkvBias = true, OProjBias = true, MlpBias = true,
            },
            _ => llama with
            {
                Architecture = "GPT2LMHeadModel", ModelType = "gpt2", Family = ModelFamily.Gpt2, NumKvHeads = 4, HiddenAct = "gelu_new", TieWordEmbeddings = true,
                QkvBias = true, OProjBias = true, MlpBias = true, MaxPositionEmbeddings = 16, NormEps = 1e-5,
            },
        };
    }

    /// <summary>A random model with a LoRA adapter on its attention (and Phi's/GPT-2's MLP) projections, B non-zero so the policy is not the reference.</summary>
    static CausalLM Model(string family)
    {
        var m = ModelIO.Create(Config(family));
        ModelInit.Initialize(m, 3);
        var lora = new LoraConfig { R = 4, LoraAlpha = 8, TargetModulesRegex = @".*\.(q_proj|k_proj|v_proj|o_proj|qkv_proj|dense|c_attn|c_proj|fc1)" };
        LoraModel.Apply(m, lora, 4);
        var rng = new Rng(5);
        foreach (var b in LoraModel.Branches(m)) rng.FillNormal(b.B.Span, 0, 0.1f);
        return m;
    }

    /// <summary>Five ragged pairs; pair 3 (prompt 9, chosen 8, rejected 2) is cut to prompt 6 + chosen 6 but keeps prompt 9 + rejected 2 within 12.</summary>
    static List<TrainingExample> Pairs()
    {
        var rng = new Rng(11);
        int[] Ids(int n) => Enumerable.Range(0, n).Select(_ => 1 + rng.NextInt(Vocab - 1)).ToArray();
        (int P, int C, int R)[] shapes = [(4, 5, 3), (1, 2, 7), (7, 4, 4), (9, 8, 2), (3, 1, 8)];
        return shapes.Select(s => new TrainingExample(Ids(s.P), Ids(s.C)) { Rejected = Ids(s.R), ChosenScore = rng.NextFloat(), RejectedScore = rng.NextFloat() }).ToList();
    }

    sealed record Outcome(float Loss, IReadOnlyDictionary<string, float> Metrics, float[][] Grads, ReferenceLogProbs? Reference, SequenceBatch Batch);

    /// <summary>Reference scoring (Initialize), then one Step over every pair, from zeroed gradients.</summary>
    static Outcome Step(CausalLM model, List<TrainingExample> data, PreferenceOptions options)
    {
        var objective = new PreferenceObjective(options) { ReferenceBatchSize = 2 };
        string dir = TinySetup.TempDir();
        try
        {
            var context = new TrainingContext(model, data, MaxLength, 0, dir);
            objective.Initialize(context);
            var trainable = LoraModel.Branches(model).SelectMany(b => new[] { b.A, b.B }).ToArray();
            foreach (var p in trainable) p.ZeroGrad();
            var batch = objective.Prepare(Enumerable.Range(0, data.Count).ToList(), context, new Rng(1));
            using var tape = new Tape();
            var output = objective.Step(tape, batch, 1f, context);
            return new Outcome(output.Loss, output.Metrics, trainable.Select(p => p.Grad!.Span.ToArray()).ToArray(), objective.Reference, batch.Sequences);
        }
        finally { Directory.Delete(dir, true); }
    }

    public static TheoryData<string, string> Cases => new()
    {
        { "llama", "dpo" }, { "llama", "ipo" }, { "llama", "plad-margin" }, { "qwen3", "dpo" }, { "gemma3", "dpo" }, { "gemma3", "plad-rank" },
        { "phi3", "dpo" }, { "phi3-longrope", "dpo" }, { "phi", "hinge" }, { "gpt2", "dpo" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Shared_prompt_gives_the_losses_log_probs_and_gradients_of_separate_rows(string family, string loss)
    {
        var options = loss switch
        {
            "dpo" => new PreferenceOptions(PreferenceLossKind.Dpo, Beta: 0.5f, LabelSmoothing: 0.1f) { SftWeight = 0.3f },
            "ipo" => new PreferenceOptions(PreferenceLossKind.Ipo, Beta: 0.5f),
            "hinge" => new PreferenceOptions(PreferenceLossKind.Hinge, Beta: 0.5f),
            "plad-rank" => new PreferenceOptions(PreferenceLossKind.PladRank, Delta: 0.5f) { Temperature = 0.7f },
            _ => new PreferenceOptions(PreferenceLossKind.PladMargin, Delta: 0.5f) { Temperature = 0.7f, SftWeight = 0.2f },
        };
        var data = Pairs();
        using var model = Model(family);
        var separate = Step(model, data, options with { SharePrompt = false });
        var shared = Step(model, data, options);
        // the layouts are what they claim: 10 rows of the concatenated batch, 4 shared rows + the unshareable pair's 2
        Assert.Equal((10, null), (separate.Batch.Rows, separate.Batch.Branches));
        Assert.Equal((6, 10), (shared.Batch.Rows, shared.Batch.Sequences));
        string at = $"{family} {loss}";
        Close(at + " loss", separate.Loss, shared.Loss);
        Assert.Equal(separate.Metrics.Keys.Order(), shared.Metrics.Keys.Order());
        foreach (var (k, v) in separate.Metrics) Close($"{at} {k}", v, shared.Metrics[k]);
        if (options.NeedsReference)
        {
            var (a, b) = (separate.Reference!, shared.Reference!);
            foreach (var (name, x, y) in new[] { ("chosen sum", a.ChosenSum, b.ChosenSum), ("rejected sum", a.RejectedSum, b.RejectedSum),
                ("chosen mean", a.ChosenMean, b.ChosenMean), ("rejected mean", a.RejectedMean, b.RejectedMean) })
                for (int i = 0; i < x.Length; i++) Close($"{at} reference {name} [{i}]", x[i], y[i]);
        }
        double norm = 0;
        for (int p = 0; p < separate.Grads.Length; p++)
            for (int i = 0; i < separate.Grads[p].Length; i++)
            {
                norm += separate.Grads[p][i] * (double)separate.Grads[p][i];
                float e = separate.Grads[p][i], g = shared.Grads[p][i];
                Assert.True(MathF.Abs(e - g) <= 1e-4f * (1e-2f + MathF.Abs(e)) + 1e-6f, $"{at}: LoRA gradient {p}[{i}]: separate {e} vs shared {g}");
            }
        Assert.True(norm > 1e-6, $"{at}: the gradient is zero ({norm}): the check would prove nothing");
    }

    static void Close(string what, float expected, float actual)
        => Assert.True(MathF.Abs(expected - actual) <= 1e-4f * (1 + MathF.Abs(expected)), $"{what}: separate {expected} vs shared {actual}");

    [Fact]
    public void Shared_pairs_pack_each_pair_in_one_row_and_read_both_first_answer_tokens_from_the_prompts_last_row()
    {
        TrainingExample pair = new([5, 6, 7], [8, 9]) { Rejected = [10, 11, 12] };
        TrainingExample cut = new([1, 2, 3, 4, 5, 6, 7], [20, 21, 22, 23, 24, 25]) { Rejected = [30] };   // max 8: chosen cut to 4, prompt to 4
        var s = Collator.SharedPairs([pair, cut], maxLength: 8, padId: 0);
        Assert.Equal((3, 8, 4), (s.Rows, s.T, s.Sequences));
        Assert.Equal(new[] { 5, 6, 7, 8, 9, 10, 11, 12 }, s.Ids[..8]);               // [prompt | chosen | rejected]
        Assert.Equal(new[] { 4, 5, 6, 7, 20, 21, 22, 23 }, s.Ids[8..16]);            // the cut pair's chosen row (prompt tail 4)
        Assert.Equal(new[] { 1, 2, 3, 4, 5, 6, 7, 30 }, s.Ids[16..]);               // and its rejected row (whole prompt)
        Assert.Equal(new[] { 3, 5, 8, 8, 8, 8 }, s.Branches!.Bounds);
        Assert.Equal(new[] { 0, 1, 2, 3, 4, 3, 4, 5 }, s.Branches.Positions[..8]);   // rejected at the chosen's positions
        int L = s.OutputRows!.Length / 4;
        Assert.Equal(4, L);
        // chosen of pair 0: rows 2, 3 predict 8, 9; rejected: row 2 (the prompt's last) predicts 10, rows 5, 6 predict 11, 12
        Assert.Equal(new[] { 2, 3 }, s.OutputRows[..2]);
        Assert.Equal(new[] { 8, 9, Collator.IgnoreIndex, Collator.IgnoreIndex }, s.Labels[..4]);
        Assert.Equal(new[] { 2, 5, 6 }, s.OutputRows[(2 * L)..(2 * L + 3)]);
        Assert.Equal(new[] { 10, 11, 12 }, s.Labels[(2 * L)..(2 * L + 3)]);
        // the cut pair: its chosen from row 1 (rows 8 + 3 …), its rejected from row 2's position 6
        Assert.Equal(new[] { 11, 12, 13, 14 }, s.OutputRows[L..(2 * L)]);
        Assert.Equal(new[] { 20, 21, 22, 23 }, s.Labels[L..(2 * L)]);
        Assert.Equal(22, s.OutputRows[3 * L]);
        Assert.Equal(30, s.Labels[3 * L]);
        Assert.Equal(new[] { 8, 8, 8 }, s.Lengths);
        // the label count is the answers' tokens, as the concatenated batch's
        Assert.Equal(Collator.Pairs([pair, cut], 8).LabelCount, s.LabelCount);
    }
}
