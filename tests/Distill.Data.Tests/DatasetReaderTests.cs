using Distill.Data.Datasets;

namespace Distill.Data.Tests;

/// <summary>
/// The Parquet reader against files written by an independent implementation (ParquetSharp,
/// i.e. Apache Arrow's C++ parquet: tools/parquet-fixtures), and the same errors as JSONL.
/// </summary>
public class DatasetReaderTests
{
    static string Data(string name) => Path.Combine(AppContext.BaseDirectory, "Data", name);

    [Fact]
    public void ReadsParquetWrittenByArrowCpp_AcrossRowGroups()
    {
        var rows = DatasetReader.Read(Data("good.parquet")).ToList();
        Assert.Equal(3, rows.Count);
        Assert.Equal("def add(a, b):\n", rows[0].RequireString("prompt"));
        Assert.Equal(" return a + b\n", rows[0].RequireString("completion"));
        Assert.Equal("héllo — 世界", rows[1].RequireString("prompt"));
        Assert.Equal("t/2", rows[2].RequireString("task_id"));
        Assert.Equal([1, 2, 3], rows.Select(r => r.RequireInt("difficulty")));
        Assert.Equal([1, 2, 3], rows[0].RequireIntArray("prompt_ids"));
        Assert.Empty(rows[1].RequireIntArray("prompt_ids"));
        Assert.Equal([7], rows[2].RequireIntArray("prompt_ids"));
        Assert.Equal("row 3", rows[2].Position);
    }

    [Fact]
    public void ParquetErrorsNameFileRowAndColumn()
    {
        var rows = DatasetReader.Read(Data("bad.parquet")).ToList();
        Assert.Equal("first", rows[0].RequireString("prompt"));
        var e = Assert.Throws<DatasetFormatException>(() => rows[1].RequireString("prompt"));
        Assert.Equal("row 2", e.Position);
        Assert.Equal("prompt", e.Column);
        Assert.EndsWith("bad.parquet: row 2: column \"prompt\" is null, not a string", e.Message);
        var e2 = Assert.Throws<DatasetFormatException>(() => rows[0].RequireString("completion"));
        Assert.EndsWith("bad.parquet: row 1: column \"completion\" is a number, not a string", e2.Message);
        var e3 = Assert.Throws<DatasetFormatException>(() => rows[0].RequireString("chosen"));
        Assert.EndsWith("bad.parquet: row 1: column \"chosen\" is missing", e3.Message);
    }

    [Fact]
    public void JsonlGivesTheSameErrors()
    {
        var dir = Directory.CreateTempSubdirectory();
        var path = Path.Combine(dir.FullName, "bad.jsonl");
        File.WriteAllText(path, "{\"prompt\": \"first\", \"completion\": 10}\n{\"prompt\": null}\n");
        var rows = DatasetReader.Read(path).ToList();
        Assert.EndsWith("bad.jsonl: line 2: column \"prompt\" is null, not a string", Assert.Throws<DatasetFormatException>(() => rows[1].RequireString("prompt")).Message);
        Assert.EndsWith("bad.jsonl: line 1: column \"completion\" is a number, not a string", Assert.Throws<DatasetFormatException>(() => rows[0].RequireString("completion")).Message);
        dir.Delete(true);
    }

    [Fact]
    public void NotParquet_IsAClearError()
    {
        var dir = Directory.CreateTempSubdirectory();
        var path = Path.Combine(dir.FullName, "x.parquet");
        File.WriteAllText(path, "this is not parquet");
        var e = Assert.Throws<DatasetFormatException>(() => DatasetReader.Read(path).ToList());
        Assert.Contains("x.parquet: file: not a readable Parquet file", e.Message);
        var csv = Path.Combine(dir.FullName, "x.csv");
        File.WriteAllText(csv, "a,b\n");
        Assert.Contains("unknown dataset format '.csv'", Assert.Throws<NotSupportedException>(() => DatasetReader.Read(csv).ToList()).Message);
        dir.Delete(true);
    }
}
