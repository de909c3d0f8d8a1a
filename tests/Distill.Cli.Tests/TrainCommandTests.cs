using System.Text.Json.Nodes;
using Distill.Cli.Commands;
using Distill.Models;

namespace Distill.Cli.Tests;

/// <summary>`distill train`: bad input exits 1 with a one-line reason naming what is wrong; a short DPO run logs TRL's metrics.</summary>
[Collection("console")]
public class TrainCommandTests
{
    static (int Exit, string Out, string Err) Run(params string[] args) => CliHarness.Run(new TrainCommand().Build(), args);

    static string TinyModel(string root)
    {
        var config = new ModelConfig
        {
            Architecture = "LlamaForCausalLM", ModelType = "llama", Family = ModelFamily.Llama, VocabSize = 64, HiddenSize = 32,
            IntermediateSize = 64, NumLayers = 1, NumHeads = 4, NumKvHeads = 2, HeadDim = 8, MaxPositionEmbeddings = 128, NormEps = 1e-5,
            HiddenAct = "silu", TieWordEmbeddings = true, InitializerRange = 0.05, RopeTheta = 10000, BosTokenId = null, EosTokenIds = [],
        };
        string dir = Path.Combine(root, "model");
        using var m = ModelIO.Create(config);
        ModelInit.Initialize(m, 1);
        ModelIO.Save(m, dir);
        return dir;
    }

    [Fact]
    public void BadInputExitsWithAReasonAndAShortDpoRunLogsTrlMetrics()
    {
        string root = Path.Combine(Path.GetTempPath(), "distill-train-cli-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(root);
        try
        {
            string model = TinyModel(root);
            string sft = Path.Combine(root, "sft.jsonl"), pairs = Path.Combine(root, "pairs.jsonl");
            File.WriteAllLines(sft, ["{\"prompt_ids\": [1, 2], \"completion_ids\": [3, 4]}", "{\"prompt_ids\": [5], \"completion_ids\": [99]}"]);
            File.WriteAllLines(pairs, Enumerable.Range(0, 4).Select(i => $"{{\"prompt_ids\": [{i + 1}, 7], \"chosen_ids\": [8, 9], \"rejected_ids\": [10]}}"));

            var (exit, _, err) = Run("--method", "token-kd", "--data", sft, "--model", model, "--out", Path.Combine(root, "kd"));
            Assert.Equal(2, exit);
            Assert.Contains("needs --teacher", err);

            (exit, _, err) = Run("--method", "sft", "--data", sft, "--model", model, "--out", Path.Combine(root, "s"));
            Assert.Equal(2, exit);
            Assert.Contains($"{sft}:2: \"completion\" holds token id 99, outside the model's vocabulary of 64", err);

            (exit, _, err) = Run("--method", "dpo", "--data", sft, "--model", model, "--out", Path.Combine(root, "d0"));
            Assert.Equal(2, exit);
            Assert.Contains($"{sft}:1: needs \"chosen\" (text) or \"chosen_ids\"", err);

            string outDir = Path.Combine(root, "dpo");
            (exit, _, err) = Run("--method", "dpo", "--data", pairs, "--model", model, "--out", outDir, "--batch", "2", "--epochs", "2", "--threads", "1");
            Assert.True(exit == 0, err);
            var lines = File.ReadAllLines(Path.Combine(outDir, "metrics.jsonl")).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
            Assert.Equal(4, lines.Count);
            Assert.Equal(Math.Log(2), (double)lines[0]["loss"]!, 4);   // fresh adapter = reference
            foreach (var key in new[] { "rewards/chosen", "rewards/rejected", "rewards/margins", "rewards/accuracies", "logps/chosen", "logps/rejected" })
                Assert.True(lines[^1].ContainsKey(key), key);
            Assert.True(File.Exists(Path.Combine(outDir, "adapter", "adapter_model.safetensors")));

            (exit, _, err) = Run("--method", "dpo", "--data", pairs, "--model", model, "--out", outDir);
            Assert.Equal(2, exit);
            Assert.Contains("--resume", err);
        }
        finally { Directory.Delete(root, true); }
    }
}
