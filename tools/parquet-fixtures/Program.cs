using ParquetSharp;

// The fixtures Distill's Parquet reader is checked against (DatasetReaderTests). Columns follow
// TRL's names (prompt, completion) plus HumanEval's task_id, a difficulty and token ids.
var dir = args.Length > 0 ? args[0] : Path.Combine("tests", "Distill.Data.Tests", "Data");
Directory.CreateDirectory(dir);

// good.parquet: two row groups (rows 1–2, then 3), a non-ASCII string, an empty list.
var good = new Column[]
{
    new Column<string>("prompt"), new Column<string>("completion"), new Column<string>("task_id"),
    new Column<long>("difficulty"), new Column<int[]>("prompt_ids"),
};
using (var file = new ParquetFileWriter(Path.Combine(dir, "good.parquet"), good))
{
    WriteGroup(file, ["def add(a, b):\n", "héllo — 世界"], [" return a + b\n", "ok"], ["t/0", "t/1"], [1, 2], [[1, 2, 3], []]);
    WriteGroup(file, ["third"], ["row"], ["t/2"], [3], [[7]]);
    file.Close();
}

// bad.parquet: row 2's prompt is null, and completion is an integer column.
var bad = new Column[] { new Column<string>("prompt"), new Column<long>("completion") };
using (var file = new ParquetFileWriter(Path.Combine(dir, "bad.parquet"), bad))
{
    using (var rg = file.AppendRowGroup())
    {
        using (var w = rg.NextColumn().LogicalWriter<string?>()) w.WriteBatch(["first", null]);
        using (var w = rg.NextColumn().LogicalWriter<long>()) w.WriteBatch([10, 20]);
    }
    file.Close();
}
Console.WriteLine($"wrote good.parquet and bad.parquet to {dir}");

static void WriteGroup(ParquetFileWriter file, string[] prompt, string[] completion, string[] taskId, long[] difficulty, int[][] ids)
{
    using var rg = file.AppendRowGroup();
    using (var w = rg.NextColumn().LogicalWriter<string>()) w.WriteBatch(prompt);
    using (var w = rg.NextColumn().LogicalWriter<string>()) w.WriteBatch(completion);
    using (var w = rg.NextColumn().LogicalWriter<string>()) w.WriteBatch(taskId);
    using (var w = rg.NextColumn().LogicalWriter<long>()) w.WriteBatch(difficulty);
    using (var w = rg.NextColumn().LogicalWriter<int[]>()) w.WriteBatch(ids);
}
