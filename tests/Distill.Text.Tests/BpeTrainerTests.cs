using System.Text.Json.Nodes;
using Distill.Text.Trainer;

namespace Distill.Text.Tests;

/// <summary>BpeTrainer equals Hugging Face's BpeTrainer, and its tokenizer.json is loaded by HF (tools/tokenizers/make_trainer_expected.mjs).</summary>
public class BpeTrainerTests
{
    /// <summary>The lines HF's Tokenizer.train reads from train.txt (corpus joined by "\n"; each line keeps its "\n", as Rust's lines_with_ending).</summary>
    static List<string> TrainLines()
    {
        var texts = File.ReadLines(Path.Combine(TestPaths.RepoRoot, "tools", "tokenizers", "corpus.jsonl"))
            .Select(l => (string)JsonNode.Parse(l)!["text"]!).ToList();
        string all = string.Join("\n", texts) + "\n";
        var lines = new List<string>();
        for (int start = 0; start < all.Length;)
        {
            int nl = all.IndexOf('\n', start);
            int end = nl < 0 ? all.Length : nl + 1;
            lines.Add(all[start..end]);
            start = end;
        }
        return lines;
    }

    [Fact]
    public void SameVocabularyAndMergesAsHuggingFaceTrainer()
    {
        var expected = JsonNode.Parse(File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "tests", "Distill.Text.Tests", "expected", "hf_trained.json")))!;
        // HF's default BpeTrainer: vocab 30000, min_frequency 0, no initial alphabet.
        var result = BpeTrainer.Train(TrainLines(), new BpeTrainerOptions(VocabSize: 30000, MinFrequency: 0, ByteLevelAlphabet: false));
        var merges = expected["merges"]!.AsArray().Select(m => ((string)m![0]!, (string)m[1]!)).ToList();
        Assert.Equal(merges.Count, result.Merges.Count);
        for (int i = 0; i < merges.Count; i++) Assert.True(merges[i] == result.Merges[i], $"merge {i}: {result.Merges[i]} != {merges[i]}");
        var vocab = expected["vocab"]!.AsObject().ToDictionary(p => p.Key, p => (int)p.Value!);
        Assert.Equal(vocab.OrderBy(p => p.Value), result.Vocab.OrderBy(p => p.Value));
    }

    [Fact]
    public void TrainedFileIsReproducibleAndEncodesLikeItsMerges()
    {
        var options = new BpeTrainerOptions(VocabSize: 600, MinFrequency: 2, SpecialTokens: ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]);
        var result = BpeTrainer.Train(TrainLines(), options);
        Assert.Equal(600, result.Vocab.Count);
        Assert.Equal(0, result.Vocab["<|endoftext|>"]);
        Assert.Equal(3 + 256, result.Vocab.Count - result.Merges.Count); // specials + byte alphabet (corpus chars are all bytes here)
        string path = Path.Combine(Path.GetTempPath(), $"distill-trained-{Environment.ProcessId}.json");
        BpeTrainer.Save(result, path);
        string committed = Path.Combine(TestPaths.RepoRoot, "tests", "Distill.Text.Tests", "data", "trained", "tokenizer.json");
        Assert.True(File.Exists(committed), $"{committed} missing: copy {path} there and run tools/tokenizers/make_trainer_expected.mjs");
        Assert.Equal(File.ReadAllText(committed), File.ReadAllText(path));
        var tok = TokenizerLoader.Load(path);
        Assert.Equal([0], tok.EncodeToIds("<|endoftext|>"));
        Assert.Equal("Hello world <|im_end|>", tok.Decode(tok.EncodeToIds("Hello world <|im_end|>")));
        File.Delete(path);
    }
}
