using System.Text.Json.Nodes;
using Distill.Cli.Commands;
using Distill.Data.Jsonl;

namespace Distill.Cli.Tests;

/// <summary>`distill tokenize` on the real GPT-2 tokenizer: ids agree with HF tokenizers, decode round-trips, bad lines name file:line.</summary>
public class TokenizeCommandTests
{

    static string Gpt2 => CliHarness.Data("tokenizers", "gpt2");

    [Fact]
    public void EncodesThenDecodesJsonl()
    {
        string dir = Directory.CreateTempSubdirectory("tok").FullName;
        string input = Path.Combine(dir, "in.jsonl"), ids = Path.Combine(dir, "ids.jsonl"), back = Path.Combine(dir, "back.jsonl");
        File.WriteAllText(input, "{\"text\": \"Hello world\"}\n\n{\"text\": \"it's<|endoftext|>\"}\n");
        TokenizeCommand.Run(Gpt2, input, ids, addSpecialTokens: false, decode: false);
        var lines = File.ReadAllLines(ids);
        Assert.Equal(2, lines.Length);
        // HF tokenizers (GPT-2): "Hello world" → [15496, 995]; "it's<|endoftext|>" → [270, 338, 50256]
        Assert.Equal("[15496,995]", JsonNode.Parse(lines[0])!["ids"]!.ToJsonString());
        Assert.Equal(new[] { "Hello", "Ġworld" }, JsonNode.Parse(lines[0])!["tokens"]!.AsArray().Select(t => t!.GetValue<string>()));
        Assert.Equal("[270,338,50256]", JsonNode.Parse(lines[1])!["ids"]!.ToJsonString());
        TokenizeCommand.Run(Path.Combine(Gpt2, "tokenizer.json"), ids, back, false, decode: true);
        var texts = File.ReadAllLines(back).Select(l => JsonNode.Parse(l)!["text"]!.GetValue<string>()).ToArray();
        Assert.Equal(new[] { "Hello world", "it's<|endoftext|>" }, texts);
    }

    [Fact]
    public void BadLineIsNamedAndNoOutputIsLeft()
    {
        string dir = Directory.CreateTempSubdirectory("tok").FullName;
        string input = Path.Combine(dir, "in.jsonl"), output = Path.Combine(dir, "out.jsonl");
        File.WriteAllText(input, "{\"text\": \"ok\"}\n{\"txt\": \"no\"}\n");
        var e = Assert.Throws<JsonlFormatException>(() => TokenizeCommand.Run(Gpt2, input, output, false, false));
        Assert.Equal(2, e.Line);
        Assert.False(File.Exists(output));
        File.WriteAllText(input, "{\"ids\": [1, 999999]}\n");
        var d = Assert.Throws<JsonlFormatException>(() => TokenizeCommand.Run(Gpt2, input, output, false, true));
        Assert.Contains("999999", d.Message);
    }
}
