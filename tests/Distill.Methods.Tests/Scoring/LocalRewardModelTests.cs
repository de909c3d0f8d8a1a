using System.Text.Json.Nodes;
using Distill.Methods.Scoring;
using Distill.Models;
using Distill.Models.Formats;
using Distill.Tensors.Autograd;
using Distill.Text;

namespace Distill.Methods.Tests.Scoring;

/// <summary>The local reward model on a tiny random LlamaForSequenceClassification with the real GPT-2 tokenizer.</summary>
public class LocalRewardModelTests
{
    internal static string Root()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d != null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Distill.slnx"))) return d.FullName;
        throw new InvalidOperationException("repo root not found");
    }

    internal static string Gpt2 => Path.Combine(Root(), "data", "tokenizers", "gpt2");

    /// <summary>A tiny-reward folder with GPT-2's tokenizer; <paramref name="edit"/> may change config.json afterwards.</summary>
    internal static string MakeRewardModel(string preset = "tiny-reward", Action<JsonObject>? edit = null)
    {
        var dir = Directory.CreateTempSubdirectory("rm").FullName;
        ModelFolder.Init(ModelFolder.ResolveConfig(preset, Gpt2), Gpt2, dir, seed: 11, SafetensorsDType.F32);
        if (edit is not null)
        {
            var path = Path.Combine(dir, "config.json");
            var json = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
            edit(json);
            File.WriteAllText(path, json.ToJsonString());
        }
        return dir;
    }

    static readonly (string, string)[] Items =
    [
        ("Write a function that adds two numbers.", "def add(a, b):\n    return a + b"),
        ("Write a function that adds two numbers.", "I am not sure."),
        ("Name a prime.", "7"),
        ("Summarize: the cat sat on the mat.", "A cat sat."),
        ("Summarize: the cat sat on the mat.", "The cat sat on the mat, which was red, and then it slept for a long time."),
    ];

    [Fact]
    public void RewardIsTheScoreHeadAtTheLastTokenOfPromptPlusResponse()
    {
        var dir = MakeRewardModel();
        using var rm = LocalRewardModel.Load(dir);
        Assert.Equal("plain concatenation", rm.Formatting);
        var rewards = rm.Rewards(Items);
        using var model = ModelIO.Load(dir);
        var tok = TokenizerLoader.Load(dir);
        for (int i = 0; i < Items.Length; i++)
        {
            var ids = tok.EncodeToIds(Items[i].Item1 + Items[i].Item2, addSpecialTokens: true).ToArray();
            using var tape = new Tape { NoGrad = true };
            var perToken = model.Forward(tape, ids, 1).Span;          // (T, 1)
            Assert.Equal(perToken[ids.Length - 1], rewards[i], 5);
        }
        Assert.True(rewards.Distinct().Count() == rewards.Length, "different inputs should get different rewards from a random model");
    }

    [Fact]
    public void BatchedWithPaddingEqualsOneAtATime()
    {
        using var single = LocalRewardModel.Load(MakeRewardModel());
        // the same weights (same seed) with a pad id: rows are right-padded and pooled at the last non-pad token
        using var batched = LocalRewardModel.Load(MakeRewardModel(edit: j => j["pad_token_id"] = 50256), batchSize: 4);
        var a = single.Rewards(Items);
        var b = batched.Rewards(Items);
        for (int i = 0; i < a.Length; i++) Assert.Equal(a[i], b[i], 4);
    }

    [Fact]
    public void ChatTemplateFormatsUserThenAssistant()
    {
        var dir = MakeRewardModel();
        const string template = "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}\n{% endfor %}";
        File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), new JsonObject { ["chat_template"] = template }.ToJsonString());
        using var rm = LocalRewardModel.Load(dir);
        Assert.Equal("chat template", rm.Formatting);
        var tok = TokenizerLoader.Load(dir);
        Assert.Equal(tok.EncodeToIds("<|user|>Q\n<|assistant|>A\n", addSpecialTokens: false).ToArray(), rm.Encode("Q", "A"));
    }

    [Fact]
    public void LongInputsKeepTheirEndAndAreCounted()
    {
        using var rm = LocalRewardModel.Load(MakeRewardModel(), maxLength: 8);
        using var full = LocalRewardModel.Load(MakeRewardModel());
        var longItem = ("Summarize: the cat sat on the mat.", "The cat sat on the mat, which was red, and then it slept for a long time.");
        var ids = full.Encode(longItem.Item1, longItem.Item2);
        Assert.True(ids.Length > 8);
        var cut = rm.Rewards([longItem])[0];
        Assert.Equal(1, rm.Truncated);
        // the cut input is the last 8 tokens: score it directly through a model that sees only those
        using var model = ModelIO.Load(MakeRewardModel());
        using var tape = new Tape { NoGrad = true };
        Assert.Equal(model.Forward(tape, ids[^8..], 1).Span[7], cut, 5);
    }

    [Fact]
    public void RefusesLanguageModelsAndMultiLabelHeads()
    {
        var lm = MakeRewardModel(preset: "tiny");
        Assert.Contains("language model", Assert.Throws<InvalidOperationException>(() => LocalRewardModel.Load(lm)).Message);
        var two = MakeRewardModel(edit: j => { j["id2label"] = new JsonObject { ["0"] = "a", ["1"] = "b" }; });
        // two labels: the checkpoint's score.weight has one row, so loading already fails on the shape, naming the tensor
        var e = Assert.ThrowsAny<Exception>(() => LocalRewardModel.Load(two));
        Assert.Contains("score.weight", e.Message);
    }
}
