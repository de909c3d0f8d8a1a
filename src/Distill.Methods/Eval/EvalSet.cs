using System.Text.Json.Nodes;
using Distill.Data.Benchmarks;
using Distill.Data.BuiltInTask;
using Distill.Data.Datasets;
using Distill.Methods.Runs;

namespace Distill.Methods.Eval;

/// <summary>One held-out problem: the prompt both students and the teacher answer, its reference answer, and its tests when it is code.</summary>
public sealed record EvalProblem(string Id, string Prompt, string Reference, CodeTask? Task);

/// <summary>
/// The eval stage's problems (eval.source): the built-in task's shard in the run's view (never a shard the run trained
/// on unless the recipe says so), or a JSONL/Parquet file in TRL's columns (prompt, completion = the reference) with
/// HumanEval's test fields for code. The run's data.prompt_template wraps the prompts as it wrapped the training ones.
/// </summary>
public static class EvalSet
{
    public static List<EvalProblem> Load(Recipe r)
    {
        var source = r.String("eval.source");
        int n = (int)r.Int("eval.n");
        var records = new List<JsonObject>();
        if (source.StartsWith("builtin:", StringComparison.Ordinal))
        {
            var shard = TaskGenerator.ParseShard(source["builtin:".Length..]);
            var view = TaskViews.Parse(r.String("data.view"));
            records.AddRange(TaskGenerator.Generate(shard, n == 0 ? 100 : n, (ulong)r.Int("eval.seed"), (int)r.Int("data.max_difficulty")).Select(p => TaskViews.Record(p, view)));
        }
        else
        {
            var path = source;
            if (!Path.IsPathRooted(path) && r.SourcePath is { } recipeFile) path = Path.Combine(Path.GetDirectoryName(recipeFile)!, path);
            foreach (var rec in DatasetReader.Read(path))
            {
                rec.RequireString("prompt");
                rec.RequireString("completion");
                records.Add((JsonObject)rec.Json.DeepClone());
                if (records.Count == n) break;
            }
        }
        if (records.Count == 0) throw new ArgumentException($"eval.source '{source}': no problems");
        var template = r.String("data.prompt_template");
        return records.Select((rec, i) =>
        {
            var raw = (string)rec["prompt"]!;
            var prompt = template == "none" ? raw : DataStage.Wrap(raw, template);
            var id = rec["task_id"]?.GetValue<string>() ?? $"eval/{i}";
            CodeTask? task = null;
            bool code = rec["test"] is not null && rec["entry_point"] is not null && !IsSummary(r, rec);
            if (code)
                task = new CodeTask(id, rec["code_prompt"]?.GetValue<string>() ?? raw, (string)rec["entry_point"]!, (string)rec["test"]!,
                    rec["canonical_solution"]?.GetValue<string>() ?? (string)rec["completion"]!, TestStyle.Check);
            return new EvalProblem(id, prompt, (string)rec["completion"]!, task);
        }).ToList();
    }

    // The built-in task's summary view carries the test fields too (for provenance); its answers are prose, not code.
    static bool IsSummary(Recipe r, JsonObject rec) => r.String("eval.source").StartsWith("builtin:", StringComparison.Ordinal) && r.String("data.view") == "sum";
}
