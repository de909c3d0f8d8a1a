using System.Text.Json.Nodes;
using Distill.Data.BuiltInTask;
using Distill.Data.Datasets;
using Distill.Data.Jsonl;

namespace Distill.Methods.Runs;

/// <summary>
/// `data`: the run's prompts into data/prompts.jsonl — from the built-in code task (data.view,
/// data.shard, data.n, data.seed) or from a JSONL/Parquet file with TRL columns. A malformed record
/// fails the stage naming file, line or row, and column.
/// </summary>
public sealed class DataStage : IStage
{
    public const string Output = "prompts.jsonl";
    public string Name => "data";

    public Task<StageResult> RunAsync(RunContext ctx, CancellationToken ct)
    {
        var r = ctx.Recipe;
        var output = ctx.Dir.DataFile(Output);
        using var w = new JsonlWriter(output);
        int count = 0;
        if (r.String("data.source") == "builtin")
        {
            var problems = TaskGenerator.Generate(TaskGenerator.ParseShard(r.String("data.shard")), (int)r.Int("data.n"), (ulong)r.Int("data.seed"), (int)r.Int("data.max_difficulty"));
            var view = TaskViews.Parse(r.String("data.view"));
            foreach (var p in problems) { w.Write(TaskViews.Record(p, view)); count++; }
        }
        else
        {
            var path = r.String("data.source");
            if (!Path.IsPathRooted(path) && r.SourcePath is { } recipeFile) path = Path.Combine(Path.GetDirectoryName(recipeFile)!, path);
            bool needCompletion = r.Method == "sft" || r.Method == "token-kd";
            foreach (var rec in DatasetReader.Read(path))
            {
                ct.ThrowIfCancellationRequested();
                var obj = (JsonObject)rec.Json.DeepClone();
                rec.RequireString("prompt");
                if (needCompletion) rec.RequireString("completion");
                w.Write(obj);
                if (++count == r.Int("data.n")) break;
            }
        }
        w.Commit();
        if (r.String("data.prompt_template") is not "none" and var template) ApplyTemplate(output, template);
        ctx.Say($"[data] {count} records → {Path.GetRelativePath(ctx.Dir.Root, output)}");
        return Task.FromResult(StageResult.Files(output));
    }

    /// <summary>
    /// data.prompt_template: each prompt wrapped in one of DPO-KD's Table 1 templates (dpo-kd.txt §4.1.1), which teacher
    /// and student both answer; the record's original prompt is kept as "input".
    /// </summary>
    static void ApplyTemplate(string path, string template)
    {
        var records = Distill.Data.Jsonl.JsonlReader.Read(path).Select(x => (JsonObject)x.Json.DeepClone()).ToList();
        using var w = new JsonlWriter(path);
        foreach (var rec in records)
        {
            var input = (string)rec["prompt"]!;
            rec["input"] = input;
            rec["prompt"] = Wrap(input, template);
            w.Write(rec);
        }
        w.Commit();
    }

    /// <summary>A prompt in one of DPO-KD's Table 1 templates (data.prompt_template); the eval stage wraps its prompts the same way.</summary>
    public static string Wrap(string input, string template)
        => Distill.Data.Prompts.DpoKdPrompts.For(template == "dpo-kd-summary" ? Distill.Data.Prompts.DpoKdTask.CodeSummary : Distill.Data.Prompts.DpoKdTask.CodeGeneration, input);
}
