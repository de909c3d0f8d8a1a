using System.CommandLine;
using System.Text.Json.Nodes;
using Distill.Data.Jsonl;
using Distill.Text;

namespace Distill.Cli.Commands;

/// <summary>
/// `distill tokenize`: JSONL {"text": ...} → {"ids": [...], "tokens": [...]} with a Hugging Face
/// tokenizer.json, or with --decode {"ids": [...]} → {"text": ...}. Streams line by line.
/// </summary>
sealed class TokenizeCommand : IVerb
{
    public Command Build()
    {
        var tokenizer = new Option<string>("--tokenizer") { Description = "tokenizer.json, or a folder holding one", Required = true };
        var input = new Option<string>("--input") { Description = "input JSONL file", Required = true };
        var output = new Option<string>("--output") { Description = "output JSONL file (default: stdout)", DefaultValueFactory = _ => "-" };
        var special = new Option<bool>("--add-special-tokens") { Description = "apply the post-processor's BOS/EOS template" };
        var decode = new Option<bool>("--decode") { Description = "decode {\"ids\": [...]} lines to {\"text\": ...}" };
        var command = new Command("tokenize",
            "Encode JSONL text with a Hugging Face tokenizer.json (or decode ids).\n" +
            "Example: distill tokenize --tokenizer data/tokenizers/gpt2 --input prompts.jsonl --output ids.jsonl");
        foreach (var o in new Option[] { tokenizer, input, output, special, decode }) command.Options.Add(o);
        command.SetAction(pr => Run(pr.GetValue(tokenizer)!, pr.GetValue(input)!, pr.GetValue(output)!, pr.GetValue(special), pr.GetValue(decode)));
        return command;
    }

    /// <summary>The whole verb: one tokenizer call per line; output written atomically (or to stdout for "-").</summary>
    internal static void Run(string tokenizerPath, string input, string output, bool addSpecialTokens, bool decode)
    {
        var tok = TokenizerLoader.Load(tokenizerPath);
        using var writer = new JsonlWriter(output);
        foreach (var record in JsonlReader.Read(input))
        {
            if (decode)
            {
                int[] ids = record.RequireIntArray("ids", input);
                foreach (int id in ids)
                    if (tok.IdToToken(id) == null) throw new JsonlFormatException(input, record.Line, $"token id {id} is not in the vocabulary of {tok.Source}");
                writer.Write(new JsonObject { ["text"] = tok.Decode(ids) });
            }
            else
            {
                var enc = tok.Encode(record.RequireString("text", input), addSpecialTokens);
                writer.Write(new JsonObject
                {
                    ["ids"] = new JsonArray(enc.Ids.Select(i => (JsonNode)i).ToArray()),
                    ["tokens"] = new JsonArray(enc.Tokens.Select(t => (JsonNode)t).ToArray()),
                });
            }
        }
        writer.Commit();
    }
}
