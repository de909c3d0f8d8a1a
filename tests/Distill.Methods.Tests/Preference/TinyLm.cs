using Distill.Models;
using Distill.Models.Formats;
using Distill.Text.Trainer;

namespace Distill.Methods.Tests.Preference;

/// <summary>A tiny random Llama with a 300-token byte-level BPE trained on a few lines: fast enough to sample and train in tests.</summary>
internal static class TinyLm
{
    static readonly string[] Corpus =
    [
        "Write a function that adds two numbers.", "def add(a, b):\n    return a + b", "Summarize: the cat sat on the mat.",
        "The function returns the sum of its arguments.", "def square(x):\n    return x * x", "A cat sat.",
    ];

    public static string Make(string root, string name = "lm", ulong seed = 3)
    {
        string tokenizer = Path.Combine(root, name + "-tokenizer.json");
        BpeTrainer.Save(BpeTrainer.Train(Corpus, new BpeTrainerOptions(VocabSize: 300, SpecialTokens: ["<|endoftext|>"])), tokenizer);
        string dir = Path.Combine(root, name);
        var config = ModelFolder.ResolveConfig("tiny", tokenizer) with { HiddenSize = 32, IntermediateSize = 64, NumLayers = 1, NumHeads = 4, NumKvHeads = 2, HeadDim = 8 };
        ModelFolder.Init(config, tokenizer, dir, seed, SafetensorsDType.F32);
        return dir;
    }
}
