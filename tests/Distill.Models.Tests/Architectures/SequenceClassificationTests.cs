using System.Text.Json;
using System.Text.Json.Nodes;
using Distill.Models.Formats;
using Distill.Models.Generation;
using Distill.Models.Llama;
using Distill.Tensors;
using Distill.Tensors.Autograd;

namespace Distill.Models.Tests.Architectures;

/// <summary>LlamaForSequenceClassification (a reward model) against the plain-torch reference (reference/make_reference.py, reward_case).</summary>
public class SequenceClassificationTests
{
    sealed record Expected(int[] Ids, int[] Mask, int Batch, int[] LastNonPad, float[] Scores, float[] TokenScores);

    static Expected Load()
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(ReferenceOutput.Dir("llama-reward"), "expected.json")));
        var r = doc.RootElement;
        int[] Flat(string key) => r.GetProperty(key).EnumerateArray().SelectMany(row => row.ValueKind == JsonValueKind.Array ? row.EnumerateArray().Select(x => x.GetInt32()) : [row.GetInt32()]).ToArray();
        float[] Floats(string key) => r.GetProperty(key).EnumerateArray().Select(x => (float)x.GetDouble()).ToArray();
        return new Expected(Flat("input_ids"), Flat("attention_mask"), r.GetProperty("input_ids").GetArrayLength(), Flat("last_non_pad"), Floats("scores"), Floats("token_scores"));
    }

    static Tensor KeyMask(Tape tape, int[] mask)
    {
        var m = tape.New(mask.Length);
        for (int i = 0; i < mask.Length; i++) m.Span[i] = mask[i] == 1 ? 0f : float.NegativeInfinity;
        return m;
    }

    // llama-reward-noprefix: the same tensors stored without the "model." prefix (score.weight as is), the base-model layout.
    [Theory]
    [InlineData("llama-reward")]
    [InlineData("llama-reward-noprefix")]
    public void PooledScoresMatchTorchWithLeftAndRightPadding(string folder)
    {
        var e = Load();
        using var model = ModelIO.Load(ReferenceOutput.Dir(folder));
        Assert.Equal(folder.EndsWith("noprefix") ? CheckpointLayout.Unprefixed : CheckpointLayout.Prefixed, model.LoadedLayout);
        Assert.IsType<LlamaForSequenceClassification>(model);
        Assert.Equal(1, model.Config.NumLabels);
        int t = e.Ids.Length / e.Batch;
        Assert.Equal(e.LastNonPad, SequenceClassification.LastNonPadRows(e.Ids, e.Batch, model.Config.PadTokenId).Select(r => r % t).ToArray());
        using var tape = new Tape { NoGrad = true };
        var mask = KeyMask(tape, e.Mask);
        var pooled = SequenceClassification.Pool(tape, model, e.Ids, e.Batch, mask).Span.ToArray();
        Assert.Equal(e.Batch, pooled.Length);
        for (int b = 0; b < e.Batch; b++) Assert.True(Math.Abs(pooled[b] - e.Scores[b]) < 1e-4, $"row {b}: {pooled[b]} vs torch {e.Scores[b]}");
        // every non-pad position too (padded query rows see only masked keys; their values are irrelevant on both sides)
        var tokens = model.Forward(tape, e.Ids, e.Batch, mask).Span.ToArray();
        for (int i = 0; i < tokens.Length; i++)
            if (e.Mask[i] == 1) Assert.True(Math.Abs(tokens[i] - e.TokenScores[i]) < 1e-4, $"position {i}: {tokens[i]} vs torch {e.TokenScores[i]}");
        // RoPE is relative: the left- and right-padded copies of one text score the same
        Assert.Equal(pooled[0], pooled[1], 4);
    }

    [Fact]
    public void NoPadTokenMeansLastPositionAndBatchOfOne()
    {
        Assert.Equal([3], SequenceClassification.LastNonPadRows([4, 5, 6, 7], 1, null));
        var err = Assert.Throws<InvalidOperationException>(() => SequenceClassification.LastNonPadRows([4, 5, 6, 7], 2, null));
        Assert.Contains("pad_token_id", err.Message);
        // a row of nothing but padding pools at index 0, as argmax over zeros does
        Assert.Equal([0, 5], SequenceClassification.LastNonPadRows([0, 0, 0, 3, 0, 9], 2, 0));
    }

    static string WriteConfig(Action<JsonObject> edit)
    {
        var dir = TestPaths.TempDir();
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(ReferenceOutput.Dir("llama-reward"), "config.json")))!.AsObject();
        edit(json);
        File.WriteAllText(Path.Combine(dir, "config.json"), json.ToJsonString());
        return dir;
    }

    [Fact]
    public void NumLabelsFollowsPretrainedConfig()
    {
        Assert.Equal(1, ConfigJson.Load(WriteConfig(_ => { })).NumLabels);
        Assert.Equal(3, ConfigJson.Load(WriteConfig(j => { j.Remove("id2label"); j.Remove("label2id"); j["num_labels"] = 3; })).NumLabels);
        Assert.Equal(2, ConfigJson.Load(WriteConfig(j => { j.Remove("id2label"); j.Remove("label2id"); })).NumLabels);
        // id2label wins over num_labels, as in PretrainedConfig
        Assert.Equal(1, ConfigJson.Load(WriteConfig(j => j["num_labels"] = 5)).NumLabels);
        Assert.Null(ConfigJson.Load(ReferenceOutput.Dir("llama")).NumLabels);
        Assert.Equal("Qwen2ForSequenceClassification", ConfigJson.Load(WriteConfig(j => { j["architectures"] = new JsonArray("Qwen2ForSequenceClassification"); j["model_type"] = "qwen2"; })).Architecture);
    }

    [Fact]
    public void SavesAndLoadsBackAndRefusesTextGeneration()
    {
        using var model = ModelIO.Load(ReferenceOutput.Dir("llama-reward"));
        var dir = TestPaths.TempDir();
        ModelIO.Save(model, dir);
        var written = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "config.json")))!;
        Assert.Equal("LABEL_0", (string?)written["id2label"]!["0"]);
        using var back = ModelIO.Load(dir);
        Assert.Equal(model.Weights.Select(w => w.Name), back.Weights.Select(w => w.Name));
        Assert.Contains(back.Weights, w => w.Name == "score.weight");
        Assert.DoesNotContain(back.Weights, w => w.Name == "lm_head.weight");
        for (int i = 0; i < model.Weights.Count; i++) Assert.Equal(model.Weights[i].Parameter.Span.ToArray(), back.Weights[i].Parameter.Span.ToArray());
        var gen = Assert.Throws<InvalidOperationException>(() => Generator.Generate(back, [1, 2], new SamplingOptions { MaxNewTokens = 2 }));
        Assert.Contains("sequence classifier", gen.Message);
        Assert.Throws<InvalidOperationException>(() => Scoring.CompletionLogProbs(back, [1], [2]));
    }

    [Fact]
    public void MissingScoreHeadIsNamed()
    {
        // the causal-LM checkpoint "llama" under a classifier config: score.weight is missing
        var dir = TestPaths.TempDir();
        var cfg = JsonNode.Parse(File.ReadAllText(Path.Combine(ReferenceOutput.Dir("llama"), "config.json")))!.AsObject();
        cfg["architectures"] = new JsonArray("LlamaForSequenceClassification");
        File.WriteAllText(Path.Combine(dir, "config.json"), cfg.ToJsonString());
        File.Copy(Path.Combine(ReferenceOutput.Dir("llama"), "model.safetensors"), Path.Combine(dir, "model.safetensors"));
        var e = Assert.ThrowsAny<Exception>(() => ModelIO.Load(dir).Dispose());
        Assert.Contains("score.weight", e.Message);
    }

    [Fact]
    public void InitGivesAClassifierWithAnHfScoreHead()
    {
        var config = ModelPresets.Get("tiny") with { Architecture = "LlamaForSequenceClassification", NumLabels = 1, PadTokenId = 0 };
        using var model = ModelIO.Create(config);
        ModelInit.Initialize(model, 7);
        var score = model.Weights.Single(w => w.Name == "score.weight").Parameter.Span.ToArray();
        Assert.Equal(config.HiddenSize, score.Length);
        // nn.Linear weights of the classifier are N(0, initializer_range) in _init_weights
        double std = Math.Sqrt(score.Select(x => (double)x * x).Average());
        Assert.InRange(std, 0.01, 0.03);
        using var tape = new Tape { NoGrad = true };
        Assert.Equal(2, SequenceClassification.Pool(tape, model, [5, 6, 7, 0, 8, 9, 10, 11], 2).Length);
    }
}
