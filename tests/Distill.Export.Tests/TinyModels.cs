using Distill.Models;
using Distill.Models.Formats;

namespace Distill.Export.Tests;

/// <summary>
/// Small models with GPT-2's tokenizer whose greedy continuations are worth comparing: each is trained from scratch
/// (all weights, a few hundred steps) to recite <see cref="Passage"/>, so from the passage's opening it continues the
/// passage with top-2 logit gaps of whole nats. A random model's logits over 50,257 tokens have near-ties (measured:
/// smallest top-2 gaps of 0.000–0.013 in 32 steps at initializer_range 0.3), where f16 or q8_0 rounding alone flips
/// the argmax. Biases are drawn non-zero before training so a bias mapped or permuted wrongly shows. Each folder is
/// written once per test run (config.json, model.safetensors, tokenizer files with a chat template).
/// The training runs on the passage's own tokens only (<see cref="Recite"/>): the vocabulary rows of the other 50,000
/// tokens keep their random initialization, as in the untrained model; the saved model has all 50,257 rows.
/// </summary>
static class TinyModels
{
    static readonly Lazy<string> Root = new(TestPaths.TempDir);
    static readonly Dictionary<string, string> Made = [];
    static readonly Lock Gate = new();

    public const double Std = 0.02;

    /// <summary>The text the models learn; the prompt is its opening.</summary>
    public const string Passage =
        "The quick brown fox jumps over the lazy dog. Once upon a time, in a small village by the river, there lived an old "
        + "clockmaker who repaired every clock in the valley. Each morning he opened his shop at seven, wound the tall clock "
        + "by the door, and listened to the bells of the church across the square. Children came to watch the gears turn, "
        + "and he told them that time was a river too: it never stops, but you can learn to read its currents.";

    public static ModelConfig Config(string name)
    {
        var llama = new ModelConfig
        {
            Architecture = "LlamaForCausalLM", ModelType = "llama", Family = ModelFamily.Llama,
            VocabSize = 50257, HiddenSize = 64, IntermediateSize = 128, NumLayers = 2, NumHeads = 4, NumKvHeads = 2, HeadDim = 16,
            MaxPositionEmbeddings = 256, NormEps = 1e-5, HiddenAct = "silu", TieWordEmbeddings = false, InitializerRange = Std,
            RopeTheta = 10000, BosTokenId = 50256, EosTokenIds = [50256],
        };
        return name switch
        {
            "llama" => llama,
            // tied head, llama3 rope scaling (rope_freqs tensor)
            "llama3" => llama with
            {
                TieWordEmbeddings = true, RopeTheta = 500000,
                RopeScaling = new RopeScaling("llama3", 8, 1, 4, 64),
            },
            "qwen2" => llama with { Architecture = "Qwen2ForCausalLM", ModelType = "qwen2", QkvBias = true, RopeTheta = 1000000, TieWordEmbeddings = true },
            // q_norm / k_norm, head_dim 32 ≠ hidden / heads (attention.key_length), tied, as Qwen3-0.6B
            "qwen3" => llama with { Architecture = "Qwen3ForCausalLM", ModelType = "qwen3", QkNorm = true, HeadDim = 32, NormEps = 1e-6, RopeTheta = 1000000, TieWordEmbeddings = true },
            // six layers, llama.cpp's gemma3 pattern (five sliding, one global) with a 16-token window shorter than the
            // 47-token decode, so the interleaving and both RoPE bases matter; query_pre_attn_scalar = head_dim as llama.cpp scales
            "gemma3" => new ModelConfig
            {
                Architecture = "Gemma3ForCausalLM", ModelType = "gemma3_text", Family = ModelFamily.Gemma3,
                VocabSize = 50257, HiddenSize = 64, IntermediateSize = 128, NumLayers = 6, NumHeads = 4, NumKvHeads = 2, HeadDim = 16,
                MaxPositionEmbeddings = 256, NormEps = 1e-6, HiddenAct = "gelu_pytorch_tanh", TieWordEmbeddings = true, InitializerRange = Std,
                RopeTheta = 1_000_000, RopeLocalTheta = 10_000, QueryPreAttnScalar = 16, QkNorm = true, SlidingWindow = 16,
                LayerTypes = [.. Enumerable.Repeat("sliding_attention", 5), "full_attention"], BosTokenId = 50256, EosTokenIds = [50256],
            },
            "gpt2" => new ModelConfig
            {
                Architecture = "GPT2LMHeadModel", ModelType = "gpt2", Family = ModelFamily.Gpt2,
                VocabSize = 50257, HiddenSize = 64, IntermediateSize = 256, NumLayers = 2, NumHeads = 4, NumKvHeads = 4, HeadDim = 16,
                MaxPositionEmbeddings = 256, NormEps = 1e-5, HiddenAct = "gelu_new", TieWordEmbeddings = true, InitializerRange = Std,
                QkvBias = true, OProjBias = true, MlpBias = true, BosTokenId = 50256, EosTokenIds = [50256],
            },
            _ => throw new ArgumentException(name),
        };
    }

    /// <summary>
    /// The model folder for <paramref name="name"/> (llama, llama3, qwen2, gpt2); <paramref name="trained"/> false skips the
    /// training (format tests that do not decode).
    /// </summary>
    public static string Folder(string name, bool trained = true)
    {
        lock (Gate)
        {
            string key = trained ? name : name + "-untrained";
            if (Made.TryGetValue(key, out var dir)) return dir;
            dir = Path.Combine(Root.Value, key);
            using var model = ModelIO.Create(Config(name));
            ModelInit.Initialize(model, seed: 17);
            // biases too (transformers zeroes them): a zero bias would hide a bias that is mapped or permuted wrongly
            var rng = new Distill.Tensors.Rng(23);
            foreach (var l in model.Linears.Where(l => l.Bias is not null)) rng.FillNormal(l.Bias!.Span, 0f, 0.1f);
            if (trained) Recite(model, Distill.Text.TokenizerLoader.Load(TestPaths.Gpt2Tokenizer).EncodeToIds(Passage).ToArray());
            ModelIO.Save(model, dir);
            TokenizerFiles.CopyTo(TestPaths.Gpt2Tokenizer, dir);
            WithChatTemplate(dir);
            Made[key] = dir;
            return dir;
        }
    }

    /// <summary>
    /// Trains every weight on windows of the passage (SFT on whole windows, AdamW, cosine schedule), in a copy of
    /// <paramref name="model"/> whose vocabulary is the passage's own tokens and end-of-text (≈ 80 rows of 50,257):
    /// the vocabulary rows of the embedding and the head are gathered into the copy, trained with every other weight,
    /// and scattered back to their token ids. A training step over the full vocabulary costs ~0.3 s of CPU (the head's
    /// GEMMs, the softmax and AdamW over 50,257 rows, almost all of them tokens the passage never uses), so the six
    /// models cost minutes; over the passage's tokens the step costs milliseconds. The rows of the other tokens keep
    /// their random initialization (std <see cref="Std"/>): their logits stay near 0 while the trained model puts
    /// the passage's next token whole nats above the rest (the decode tests print the smallest top-2 gap, over all
    /// 50,257 logits), and the exported tensors still have all 50,257 rows, so a wrongly mapped or permuted row shows.
    /// One worker thread: the kernels of so small a model are shorter than a hand-off between threads (measured: the
    /// same 150 steps took 4× the CPU on two threads on a busy machine); results do not depend on the thread count.
    /// </summary>
    static void Recite(CausalLM model, int[] ids, int steps = 150, int seqLen = 32, int batch = 4)
    {
        var config = model.Config;
        int eos = config.EosTokenIds[0];
        int[] vocab = [.. ids.Append(eos).Distinct().Order()];
        var compactOf = vocab.Select((id, i) => (id, i)).ToDictionary(p => p.id, p => p.i);
        using var compact = ModelIO.Create(config with
        {
            VocabSize = vocab.Length, BosTokenId = compactOf[config.BosTokenId!.Value], EosTokenIds = [compactOf[eos]],
        });
        CopyWeights(model, compact, vocab, gather: true);

        var rng = new Distill.Tensors.Rng(5);
        var windows = new List<Distill.Training.Data.TrainingExample>();
        for (int i = 0; i < steps * batch; i++)
        {
            int start = rng.NextInt(ids.Length - seqLen - 1);
            windows.Add(new([compactOf[ids[start]]], [.. ids[(start + 1)..(start + 1 + seqLen)].Select(id => compactOf[id])]));
        }
        var options = new Distill.Training.TrainerOptions
        {
            Stage = "recite", MaxSteps = steps, BatchSize = batch, MaxLength = seqLen + 1, LearningRate = 3e-3f,
            Schedule = Distill.Tensors.Optim.ScheduleKind.Cosine, WarmupSteps = 8, WeightDecay = 0f, MaxGradNorm = 1f,
            Shuffle = false, SaveSteps = 0, Seed = 5,
        };
        var dir = TestPaths.TempDir();
        int threads = Distill.Tensors.Threading.Workers.Count;
        Distill.Tensors.Threading.Workers.Count = 1;
        try
        {
            new Distill.Training.Trainer(options, new Distill.Training.Objectives.SftObjective(), windows, compact, dir).Run(new Progress<Distill.Training.TrainingProgress>());
        }
        finally { Distill.Tensors.Threading.Workers.Count = threads; }
        Directory.Delete(dir, recursive: true);
        CopyWeights(compact, model, vocab, gather: false);
    }

    /// <summary>
    /// Copies every weight of <paramref name="from"/> into the same-named weight of <paramref name="to"/>; a weight whose
    /// first dimension is the vocabulary (the embedding, an untied head) has its rows <paramref name="vocab"/> gathered
    /// from the full model into the compact one, or scattered back.
    /// </summary>
    static void CopyWeights(CausalLM from, CausalLM to, int[] vocab, bool gather)
    {
        var target = to.Weights.ToDictionary(w => w.Name, w => w.Parameter);
        Assert.Equal(from.Weights.Select(w => w.Name).Order(), target.Keys.Order());
        foreach (var w in from.Weights)
        {
            var (src, dst) = (w.Parameter.Value, target[w.Name].Value);
            if (src.SameShape(dst)) { src.Span.CopyTo(dst.Span); continue; }
            int cols = src.Shape[^1];
            Assert.Equal(gather ? from.Config.VocabSize : to.Config.VocabSize, (gather ? src : dst).Shape[0]);
            for (int i = 0; i < vocab.Length; i++)
            {
                var (s, d) = gather ? (vocab[i], i) : (i, vocab[i]);
                src.Span.Slice(s * cols, cols).CopyTo(dst.Span.Slice(d * cols, cols));
            }
        }
    }

    static void WithChatTemplate(string dir)
    {
        var path = Path.Combine(dir, "tokenizer_config.json");
        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        json["chat_template"] = "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}{{ eos_token }}{% endfor %}";
        File.WriteAllText(path, json.ToJsonString());
    }
}
