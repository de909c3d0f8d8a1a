using System.Text.Json.Nodes;
using Distill.Data.Jsonl;

namespace Distill.Data.Tests;

public class JsonlTests
{
    [Fact]
    public void MalformedLineIsNamedByFileAndLine_AndEarlierRecordsAreKept()
    {
        var text = "{\"prompt\": \"a\"}\n\n{\"prompt\": \"b\"}\n{\"prompt\": oops}\n";
        var seen = new List<string>();
        var e = Assert.Throws<JsonlFormatException>(() =>
        {
            foreach (var r in JsonlReader.Read(new StringReader(text), "data.jsonl"))
                seen.Add(r.RequireString("prompt", "data.jsonl"));
        });
        Assert.Equal(["a", "b"], seen);
        Assert.Equal(4, e.Line);
        Assert.StartsWith("data.jsonl:4:", e.Message);
    }

    [Fact]
    public void NonObjectAndWrongFieldTypesAreClearErrors()
    {
        var e = Assert.Throws<JsonlFormatException>(() => JsonlReader.Read(new StringReader("[1,2]"), "x.jsonl").ToList());
        Assert.Contains("expected a JSON object", e.Message);
        var r = JsonlReader.Read(new StringReader("{\"ids\": [1, \"two\"]}"), "x.jsonl").Single();
        var e2 = Assert.Throws<JsonlFormatException>(() => r.RequireIntArray("ids", "x.jsonl"));
        Assert.Contains("\"ids\"[1]", e2.Message);
    }

    [Fact]
    public void WriterLeavesNothingUntilCommit()
    {
        var dir = Directory.CreateTempSubdirectory();
        var path = Path.Combine(dir.FullName, "out.jsonl");
        using (var w = new JsonlWriter(path))
        {
            w.Write(new JsonObject { ["a"] = 1 });
            Assert.False(File.Exists(path));
        } // disposed without commit: nothing, not even the temp file
        Assert.Empty(dir.GetFiles());
        using (var w = new JsonlWriter(path))
        {
            w.Write(new JsonObject { ["text"] = "héllo <b>" });
            w.Commit();
        }
        Assert.Equal("{\"text\":\"héllo <b>\"}\n", File.ReadAllText(path));
        dir.Delete(true);
    }
}
