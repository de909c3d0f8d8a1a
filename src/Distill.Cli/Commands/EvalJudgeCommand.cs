using System.CommandLine;
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;
using Distill.Chat;
using Distill.Chat.Accounting;
using Distill.Chat.Caching;
using Distill.Data.Jsonl;
using Distill.Evaluation.Judge;

namespace Distill.Cli.Commands;

/// <summary>
/// `distill eval judge`: pairwise LLM judge in both orders over {prompt, a, b} lines, by default
/// with the DPO-KD paper's Appendix B prompt (docs/judge-prompt.md). The judge is any IChatClient:
/// a model reference (openai:MODEL, anthropic:MODEL, a local folder) resolved by Distill.Chat's
/// factory (<see cref="ClientFactory"/>) and composed with <see cref="ChatPipeline"/> (optional SQLite
/// cache, token accounting, concurrency limit, retries). `--replay FILE` re-reads recorded judgments
/// ({first, second} raw texts per line) for audits.
/// </summary>
sealed class EvalJudgeCommand : IVerb
{
    /// <summary>Resolves a judge model reference to the bare upstream client; replaceable in tests.</summary>
    internal static Func<string, IChatClient> ClientFactory =
        reference => ChatClientFactory.Create(ModelReference.Parse(reference));

    public string? Group => "eval";

    public Command Build()
    {
        var input = new Option<string>("--input") { Description = "JSONL: {prompt, a, b} (a = the system evaluated, b = the opponent)", Required = true };
        var judge = new Option<string?>("--judge") { Description = "Judge model: openai:MODEL[@URL], anthropic:MODEL or a local model folder" };
        var promptOption = new Option<string>("--judge-prompt")
        {
            Description = "dpo-kd (the DPO-KD paper's Appendix B prompt, default), mt-bench-pair-v2, or a JSON file {system_prompt, prompt_template} " +
                          "with {question}, {answer_a}, {answer_b} (FastChat's keys); see docs/judge-prompt.md",
            DefaultValueFactory = _ => JudgePromptTemplate.Default.Name,
        };
        var cache = new Option<string?>("--cache") { Description = "SQLite response cache (e.g. runs/NAME/cache.sqlite): a re-run never pays twice" };
        var concurrency = new Option<int>("--concurrency") { Description = "Judge requests in flight at once", DefaultValueFactory = _ => 4 };
        var replay = new Option<string?>("--replay") { Description = "Recorded judgments JSONL: {first, second} per pair (first = a in position A)" };
        var record = new Option<string?>("--judgments-out") { Description = "Write every raw judgment here (JSONL)" };
        var output = new Option<string?>("--out") { Description = "Write the JSON result here" };
        var json = new Option<bool>("--json") { Description = "Print the result as JSON" };
        var command = new Command("judge", "Pairwise LLM judge ([[A]]/[[B]]/[[C]], both orders) with win/tie/loss rates and 95% CIs.\n" +
            "Example: distill eval judge --input pairs.jsonl --judge openai:gpt-4o --cache runs/demo/cache.sqlite   |   distill eval judge --input pairs.jsonl --replay judged.jsonl");
        foreach (var o in new Option[] { input, judge, promptOption, cache, concurrency, replay, record, output, json }) command.Options.Add(o);
        command.SetAction(async (pr, ct) =>
        {
            var path = pr.GetValue(input)!;
            List<(string Prompt, string A, string B)> pairs;
            pairs = JsonlReader.Read(path).Select(r => (r.RequireString("prompt", path), r.RequireString("a", path), r.RequireString("b", path))).ToList();
            List<PairJudgment> judgments;
            if (pr.GetValue(replay) is { } rp)
            {
                judgments = [];
                var rec = JsonlReader.Read(rp).Select(r => (r.RequireString("first", rp), r.RequireString("second", rp))).ToList();
                if (rec.Count != pairs.Count) throw new BadInputException($"{rp} has {rec.Count} judgments for {pairs.Count} pairs");
                for (int i = 0; i < pairs.Count; i++)
                {
                    var (f, s) = rec[i];
                    var v1 = JudgeVerdict.Parse(f); var v2 = JudgeVerdict.Parse(s);
                    judgments.Add(new PairJudgment(pairs[i].Prompt, JudgeVerdict.Combine(v1, v2), v1, v2, f, s));
                }
            }
            else if (pr.GetValue(judge) is { } model)
            {
                JudgePromptTemplate template;
                try { template = JudgePromptTemplate.Resolve(pr.GetValue(promptOption)!); }
                catch (Exception e) when (e is FormatException or FileNotFoundException or ArgumentException) { throw new BadInputException($"--judge-prompt: {e.Message}"); }
                if (pr.GetValue(concurrency) < 1) throw new BadInputException("--concurrency must be ≥ 1");
                var upstream = ClientFactory(model);
                using var responseCache = pr.GetValue(cache) is { } cachePath ? new ResponseCache(cachePath) : null;
                var ledger = new UsageLedger();
                // The bare model name keys the cache and the price table ("gpt-4o", not "openai:gpt-4o").
                var modelName = ModelReference.Parse(model).Model;
                using var client = ChatPipeline.Compose(upstream, modelName, new ChatPipelineOptions
                {
                    Cache = responseCache, Ledger = ledger, Stage = "judge", MaxConcurrency = pr.GetValue(concurrency),
                });
                Console.Error.WriteLine($"eval judge: prompt {template.Name}, {pairs.Count} pairs × 2 orders");
                var pj = new PairwiseJudge(client, prompt: template);
                // All pairs at once: the pipeline's concurrency limit bounds what is in flight; order is kept.
                judgments = [.. await Task.WhenAll(pairs.Select(p => pj.JudgeAsync(p.Prompt, p.A, p.B, ct)))];
                foreach (var row in ledger.Report(PriceTable.Default))
                    Console.Error.WriteLine($"eval judge: {row.Stage} {row.Model}: {row.Requests} paid requests, {row.InputTokens} input + {row.OutputTokens} output tokens, " +
                                            (row.Dollars is { } d ? $"${d:F4}" : "cost unknown (no price for this model)"));
            }
            else throw new BadInputException("give --judge MODEL or --replay FILE");
            if (pr.GetValue(record) is { } rout)
            {
                using var w = new JsonlWriter(rout);
                foreach (var j in judgments)
                    w.Write(new JsonObject { ["prompt"] = j.Question, ["outcome"] = j.Outcome.ToString().ToLowerInvariant(), ["first"] = j.FirstText, ["second"] = j.SecondText });
                w.Commit();
            }
            var summary = WinRateSummary.From(judgments.Select(j => j.Outcome));
            EvalTables.Emit(summary, path, pr.GetValue(output), pr.GetValue(json), $"a vs b, judged in both orders ({path})");
            return 0;
        });
        return command;
    }
}
