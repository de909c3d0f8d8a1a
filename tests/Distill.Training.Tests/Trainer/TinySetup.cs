using System.Text.Json.Nodes;
using Distill.Models;
using Distill.Models.Lora;
using Distill.Tensors;
using Distill.Training.Data;

namespace Distill.Training.Tests.Trainer;

/// <summary>Small random Llama-style models and synthetic datasets for the trainer tests (seconds, not minutes).</summary>
static class TinySetup
{
    public static ModelConfig Config(int vocab = 64) => new()
    {
        Architecture = "LlamaForCausalLM", ModelType = "llama", Family = ModelFamily.Llama,
        VocabSize = vocab, HiddenSize = 32, IntermediateSize = 64, NumLayers = 2, NumHeads = 4,
        NumKvHeads = 2, HeadDim = 8, MaxPositionEmbeddings = 256, NormEps = 1e-5, HiddenAct = "silu",
        TieWordEmbeddings = false, InitializerRange = 0.2, RopeTheta = 10000, BosTokenId = null, EosTokenIds = [],
    };

    public static CausalLM Model(ulong seed, int vocab = 64)
    {
        var m = ModelIO.Create(Config(vocab));
        ModelInit.Initialize(m, seed);
        return m;
    }

    public static LoraConfig Lora(double dropout = 0) => new() { R = 4, LoraAlpha = 8, LoraDropout = dropout, TargetModules = ["q_proj", "k_proj", "v_proj", "o_proj"] };

    /// <summary>A model with a LoRA adapter whose B is non-zero, so adapter-on and adapter-off differ.</summary>
    public static CausalLM LoraModelWithNonZeroB(ulong seed, LoraConfig lora)
    {
        var m = Model(seed);
        LoraModel.Apply(m, lora, seed + 1);
        var rng = new Rng(seed + 2);
        foreach (var b in LoraModel.Branches(m)) rng.FillNormal(b.B.Span, 0, 0.05f);
        return m;
    }

    /// <summary>Prompt-completion examples of varied lengths over token ids [1, vocab).</summary>
    public static List<TrainingExample> Completions(int n, ulong seed, int vocab = 64)
    {
        var rng = new Rng(seed);
        return Enumerable.Range(0, n).Select(_ => new TrainingExample(Ids(rng, 2 + rng.NextInt(6), vocab), Ids(rng, 1 + rng.NextInt(9), vocab))).ToList();
    }

    public static List<TrainingExample> Pairs(int n, ulong seed, int vocab = 64)
    {
        var rng = new Rng(seed);
        return Enumerable.Range(0, n).Select(_ => new TrainingExample(Ids(rng, 2 + rng.NextInt(5), vocab), Ids(rng, 1 + rng.NextInt(7), vocab))
        {
            Rejected = Ids(rng, 1 + rng.NextInt(7), vocab), ChosenScore = rng.NextFloat(), RejectedScore = rng.NextFloat(),
        }).ToList();
    }

    static int[] Ids(Rng rng, int len, int vocab) => Enumerable.Range(0, len).Select(_ => 1 + rng.NextInt(vocab - 1)).ToArray();

    public static string TempDir()
    {
        var d = Path.Combine(Path.GetTempPath(), "distill-trainer-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(d);
        return d;
    }

    public static List<JsonObject> Metrics(string outDir)
        => File.ReadAllLines(Path.Combine(outDir, Distill.Training.Trainer.MetricsFile)).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
}
