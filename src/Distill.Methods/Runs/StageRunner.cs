using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Distill.Methods.Runs;

/// <summary>
/// Runs stages in order. A stage whose marker (stages/NAME.json) exists and whose outputs are all
/// present is skipped on --resume; otherwise it runs and, on success, its marker is written
/// atomically with its outputs, time, requests, tokens and cost.
/// </summary>
public static class StageRunner
{
    public static async Task RunAsync(RunContext ctx, IReadOnlyList<IStage> stages, bool resume, CancellationToken ct = default)
    {
        for (int index = 0; index < stages.Count; index++)
        {
            var stage = stages[index];
            ct.ThrowIfCancellationRequested();
            var marker = ctx.Dir.Marker(stage.Name);
            ctx.Progress?.Report(new StageStarted(0, stage.Name, index, stages.Count));
            if (resume && IsComplete(marker))
            {
                ctx.Say($"[{stage.Name}] complete, skipped");
                ctx.Progress?.Report(new StageCompleted(0, stage.Name, index, stages.Count, TimeSpan.Zero, Skipped: true));
                continue;
            }
            if (File.Exists(marker)) File.Delete(marker); // a rerun invalidates the old marker first
            ctx.Say($"[{stage.Name}] running");
            var clock = Stopwatch.StartNew();
            var result = await stage.RunAsync(ctx, ct).ConfigureAwait(false);
            var usage = new JsonArray();
            foreach (var u in result.Usage)
                usage.Add(new JsonObject
                {
                    ["model"] = u.Model, ["requests"] = u.Requests, ["input_tokens"] = u.InputTokens, ["output_tokens"] = u.OutputTokens,
                    ["cost_usd"] = u.Dollars is { } d ? JsonValue.Create(Math.Round(d, 6)) : null,
                });
            var json = new JsonObject
            {
                ["stage"] = stage.Name,
                ["completed_utc"] = DateTime.UtcNow.ToString("O"),
                ["seconds"] = Math.Round(clock.Elapsed.TotalSeconds, 3),
                ["outputs"] = new JsonArray(result.Outputs.Select(o => (JsonNode)Path.GetRelativePath(ctx.Dir.Root, o)).ToArray()),
                ["requests"] = result.Usage.Sum(u => u.Requests),
                ["input_tokens"] = result.Usage.Sum(u => u.InputTokens),
                ["output_tokens"] = result.Usage.Sum(u => u.OutputTokens),
                ["cost_usd"] = result.Usage.Count == 0 ? 0 : result.Usage.All(u => u.Dollars is not null) ? JsonValue.Create(Math.Round(result.Usage.Sum(u => u.Dollars!.Value), 6)) : null,
                ["usage"] = usage,
            };
            if (result.Details is not null) json["details"] = result.Details;
            RunDirectory.WriteAtomic(marker, Secrets.Redact(json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }), ctx.SecretValues));
            ctx.Progress?.Report(new StageCompleted(0, stage.Name, index, stages.Count, clock.Elapsed, Skipped: false));
            ctx.Say($"[{stage.Name}] done in {clock.Elapsed.TotalSeconds:F1} s; {json["requests"]} requests, {json["input_tokens"]} + {json["output_tokens"]} tokens, cost {(json["cost_usd"] is { } c ? $"${c}" : "unknown (no price for the model)")}");
        }
    }

    /// <summary>A marker that parses and whose listed outputs all exist.</summary>
    public static bool IsComplete(string marker)
    {
        if (!File.Exists(marker)) return false;
        try
        {
            var json = JsonNode.Parse(File.ReadAllText(marker))!.AsObject();
            var root = Path.GetDirectoryName(Path.GetDirectoryName(marker))!;
            return json["outputs"]!.AsArray().All(o => File.Exists(Path.Combine(root, (string)o!)));
        }
        catch (Exception e) when (e is JsonException or NullReferenceException or InvalidOperationException) { return false; }
    }
}
