using System.Text.Json;
using System.Text.Json.Nodes;
using Distill.Text.ChatTemplate;

namespace Distill.Text.Tests;

/// <summary>
/// Chat templates rendered by Distill's Jinja subset equal @huggingface/jinja's renderings
/// (tools/tokenizers/make_chat_expected.mjs) for Qwen3, Qwen2.5, Llama-3, Mistral-Nemo, Phi-3, Zephyr, Gemma 3.
/// </summary>
public class ChatTemplateTests
{
    static ChatTemplate.ChatTemplate Load(string name)
    {
        string data = Path.Combine(TestPaths.RepoRoot, "tests", "Distill.Text.Tests", "data");
        if (name is "zephyr" or "phi3" or "gemma3")
        {
            var t = JsonNode.Parse(File.ReadAllText(Path.Combine(data, "chat_templates.json")))![name]!;
            return new ChatTemplate.ChatTemplate((string)t["chat_template"]!, (string?)t["bos_token"], (string?)t["eos_token"]);
        }
        return ChatTemplate.ChatTemplate.FromConfig(Path.Combine(Path.GetDirectoryName(TestPaths.TokenizerFile(name))!, "tokenizer_config.json"));
    }

    [Fact]
    public void MatchesHuggingFaceJinja()
    {
        string root = Path.Combine(TestPaths.RepoRoot, "tests", "Distill.Text.Tests");
        var conversations = JsonNode.Parse(File.ReadAllText(Path.Combine(root, "data", "chat_conversations.json")))!.AsArray();
        var templates = new Dictionary<string, ChatTemplate.ChatTemplate>();
        var failures = new List<string>();
        int lines = 0;
        foreach (var line in File.ReadLines(Path.Combine(root, "expected", "chat.jsonl")))
        {
            lines++;
            var e = JsonNode.Parse(line)!;
            string name = (string)e["template"]!;
            if (!templates.TryGetValue(name, out var template)) templates[name] = template = Load(name);
            var messages = conversations[(int)e["conversation"]!]!.DeepClone().AsArray();
            string got;
            try { got = template.Render(messages, (bool)e["add_generation_prompt"]!); }
            catch (ChatTemplateException ex) { got = "ERROR: " + ex.Message; }
            string want = (string?)e["output"] ?? "ERROR: " + (string?)e["error"];
            if (got != want) failures.Add($"{name} #{e["conversation"]} gen={e["add_generation_prompt"]}:\n got  {JsonSerializer.Serialize(got)}\n want {JsonSerializer.Serialize(want)}");
        }
        Assert.Equal(84, lines);
        Assert.True(failures.Count == 0, string.Join("\n", failures.Take(6)));
    }

    [Fact]
    public void MistralRaisesWhenRolesDoNotAlternate()
    {
        // Python Jinja (transformers) raises here; the message is the template's own.
        var t = Load("mistral_nemo");
        var ex = Assert.Throws<ChatTemplateException>(() => t.Render([("assistant", "I start."), ("user", "ok")], false));
        Assert.Contains("must alternate", ex.Message);
    }

    [Theory]
    [InlineData("{% macro m() %}x{% endmacro %}", "macro")]
    [InlineData("{{ x | wordwrap }}", "wordwrap")]
    [InlineData("{% if x is divisibleby(3) %}{% endif %}", "divisibleby")]
    [InlineData("{{ 'a'.format(1) }}", "format")]
    [InlineData("{% for x in y %}", "endfor")]
    public void ConstructOutsideSubsetIsNamed(string template, string named)
    {
        var ex = Assert.Throws<ChatTemplateException>(() => new ChatTemplate.ChatTemplate(template).Render([("user", "hi")], false));
        Assert.Contains(named, ex.Message);
    }

    [Fact]
    public void ExpressionsFollowPythonSemantics()
    {
        // Worked examples, values as Python/Jinja2 prints them.
        string R(string t) => new ChatTemplate.ChatTemplate(t).Render([("user", "a b")], true);
        Assert.Equal("3|ba|[3, 2]|True|None|x-y|1", R("{{ 1 + 2 }}|{{ 'ab'[::-1] }}|{{ [1,2,3][:0:-1] }}|{{ 'a' in messages[0].content }}|{{ none }}|{{ 'x' ~ '-' ~ 'y' }}|{{ 7 // 2 - 5 % 3 }}"));
        Assert.Equal("b;0-1;ok", R("{% set ns = namespace(v='a') %}{% for m in messages %}{% set ns.v = m.content.split(' ')[-1] %}{% endfor %}{{ ns.v }};{% for i in range(2) %}{{ i }}{% if not loop.last %}-{% endif %}{% endfor %};{{ 'ok' if messages|length == 1 else 'no' }}"));
        Assert.Equal("{\"a\": [1, \"é\"]}", R("{{ {'a': [1, 'é']} | tojson }}"));
    }
}
