using System.Text.Json.Nodes;
using Distill.Data.Datasets;

namespace Distill.Data.Tests;

/// <summary>
/// Distill's records to and from TRL's dataset formats (trl docs, "Dataset formats and types": standard strings,
/// conversational lists of {"role", "content"}; prompt-completion, preference, messages), provenance columns kept.
/// </summary>
public class TrlFormatTests
{
    static DatasetRecord Rec(string json) => new("d.jsonl", "line 1", JsonNode.Parse(json)!.AsObject());

    const string Pair = """{"prompt":"The sky is","chosen":" blue.","rejected":" green.","iteration":2,"chosen_model":"openai:gpt-4o-mini","rejected_sampling":{"answer_seed":7,"finish_reason":"stop"},"chosen_score":null}""";
    const string Sft = """{"prompt":"The sky is","completion":" blue.","task_id":"T/1","system":"Be brief."}""";

    [Fact]
    public void Preference_Conversational_IsTrlsShape_AndComesBack()
    {
        var o = TrlFormat.ToTrl(Rec(Pair), TrlType.Preference, TrlStyle.Conversational);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""[{"role":"user","content":"The sky is"}]"""), o["prompt"]));
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""[{"role":"assistant","content":" blue."}]"""), o["chosen"]));
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""[{"role":"assistant","content":" green."}]"""), o["rejected"]));
        Assert.Equal(7, (int)o["rejected_sampling"]!["answer_seed"]!);
        var back = TrlFormat.FromTrl(Rec(o.ToJsonString()));
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(Pair), back), back.ToJsonString());
    }

    [Theory]
    [InlineData(TrlType.PromptCompletion, TrlStyle.Standard)]
    [InlineData(TrlType.PromptCompletion, TrlStyle.Conversational)]
    [InlineData(TrlType.Messages, TrlStyle.Conversational)]
    public void PromptCompletion_EveryForm_RoundTripsWithTheSystemTurnAndProvenance(TrlType type, TrlStyle style)
    {
        var o = TrlFormat.ToTrl(Rec(Sft), type, style);
        if (type == TrlType.Messages)
            Assert.Equal(new[] { "system", "user", "assistant" }, o["messages"]!.AsArray().Select(m => (string)m!["role"]!));
        else if (style == TrlStyle.Conversational)
        {
            Assert.Equal(new[] { "system", "user" }, o["prompt"]!.AsArray().Select(m => (string)m!["role"]!));
            Assert.False(o.ContainsKey("system"));
        }
        else Assert.Equal("The sky is", (string)o["prompt"]!);
        Assert.Equal("T/1", (string)o["task_id"]!);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(Sft), TrlFormat.FromTrl(Rec(o.ToJsonString()))));
    }

    [Fact]
    public void ConversationalImplicitPrompt_IsTheSharedLeadingTurns()
    {
        var trl = Rec("""{"chosen":[{"role":"user","content":"Hi?"},{"role":"assistant","content":"Hello."}],"rejected":[{"role":"user","content":"Hi?"},{"role":"assistant","content":"Go away."}],"id":3}""");
        var o = TrlFormat.FromTrl(trl);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"prompt":"Hi?","chosen":"Hello.","rejected":"Go away.","id":3}"""), o), o.ToJsonString());
    }

    [Fact]
    public void WhatIsNotOnePrompt_IsRefusedNamingLineAndColumn()
    {
        var multi = Rec("""{"messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b"},{"role":"user","content":"c"},{"role":"assistant","content":"d"}]}""");
        var e = Assert.Throws<DatasetFormatException>(() => TrlFormat.FromTrl(multi));
        Assert.Equal("d.jsonl: line 1: column \"messages\" holds a prompt of 3 turns (user, assistant, user); Distill's prompt is one user turn, optionally after one system turn", e.Message);
        var implicitStandard = Rec("""{"chosen":"The sky is blue.","rejected":"The sky is green."}""");
        Assert.Contains("column \"prompt\" is missing", Assert.Throws<DatasetFormatException>(() => TrlFormat.FromTrl(implicitStandard)).Message);
        var twoAnswers = Rec("""{"prompt":[{"role":"user","content":"a"}],"completion":[{"role":"assistant","content":"b"},{"role":"assistant","content":"c"}]}""");
        Assert.Contains("column \"completion\" must be one assistant turn, got 2", Assert.Throws<DatasetFormatException>(() => TrlFormat.FromTrl(twoAnswers)).Message);
        var badTurn = Rec("""{"messages":[{"role":"user"},{"role":"assistant","content":"b"}]}""");
        Assert.Contains("message 0 is not", Assert.Throws<DatasetFormatException>(() => TrlFormat.FromTrl(badTurn)).Message);
        Assert.Throws<ArgumentException>(() => TrlFormat.ToTrl(Rec(Sft), TrlType.Messages, TrlStyle.Standard));
        Assert.Contains("export this file as preference", Assert.Throws<DatasetFormatException>(() => TrlFormat.ToTrl(Rec(Pair), TrlType.PromptCompletion, TrlStyle.Standard)).Message);
    }

    [Fact]
    public void ATrlParquetFile_WrittenByArrowCpp_Imports()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Data", "good.parquet");
        var rows = DatasetReader.Read(path).Select(TrlFormat.FromTrl).ToList();
        Assert.Equal(3, rows.Count);
        Assert.Equal(" return a + b\n", (string)rows[0]["completion"]!);
        Assert.Equal("t/2", (string)rows[2]["task_id"]!);
    }
}
