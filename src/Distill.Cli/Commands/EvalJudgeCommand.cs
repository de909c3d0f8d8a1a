using System.CommandLine;
using System.Text.Json.Nodes;
using Distill.Data.Jsonl;
using Distill.Evaluation.Judge;

namespace Distill.Cli.Commands;

/// <summary>
/// `distill eval judge`: pairwise LLM judge in both orders over {prompt, a, b} lines.
/// The judge is any IChatClient; model references (openai:MODEL, anthropic:MODEL, a local folder)
/// are resolved by Distill.Chat's factory (<see cref="ClientFactory"/>); `--replay FILE` re-reads
/// recorded judgments ({first, second} raw texts per line) for audits.
/// </summary>
sealed class EvalJudgeCommand : IVerb
{
    /// <summary>Resolves a judge model reference; replaceable in tests.</summary>
    internal static Func<string, Microsoft.Extensions.AI.IChatClient>? ClientFactory =
        reference => Distill.Chat.ChatClientFactory.Create(Distill.Chat.ModelReference.Parse(reference));

    public string? Group => "eval";

    public Command Build()
    {
        var input = new Option<string>("--input") { Description = "JSONL: {prompt, a, b} (a = the system evaluated, b = the opponent)", Required = true };
        var judge = new Option<string?>("--judge") { Description = "Judge model reference (needs Distill.Chat)" };
        var promptFile = new Option<string?>("--judge-prompt") { Description = "JSON {system_prompt, prompt_template} with {question}, {answer_a}, {answer_b} (FastChat's keys); default: MT-Bench pair-v2 (docs/judge-prompt.md)" };
        var replay = new Option<string?>("--replay") { Description = "Recorded judgments JSONL: {first, second} per pair (first = a in position A)" };
        var record = new Option<string?>("--judgments-out") { Description = "Write every raw judgment here (JSONL)" };
        var output = new Option<string?>("--out") { Description = "Write the JSON result here" };
        var json = new Option<bool>("--json") { Description = "Print the result as JSON" };
        var command = new Command("judge", "Pairwise LLM judge ([[A]]/[[B]]/[[C]], both orders) with win/tie/loss rates and 95% CIs.\n" +
            "Example: distill eval judge --input pairs.jsonl --judge openai:gpt-4o   |   distill eval judge --input pairs.jsonl --replay judged.jsonl");
        foreach (var o in new Option[] { input, judge, promptFile, replay, record, output, json }) command.Options.Add(o);
        command.SetAction(async (pr, ct) =>
        {
            var path = pr.GetValue(input)!;
            List<(string Prompt, string A, string B)> pairs;
            pairs = JsonlReader.Read(path).Select(r => (r.RequireString("prompt", path), r.RequireString("a", path), r.RequireString("b", path))).ToList();
            var judgments = new List<PairJudgment>();
            if (pr.GetValue(replay) is { } rp)
            {
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
                if (ClientFactory is null) throw new BadInputException("resolving judge models needs the chat layer (Distill.Chat); use --replay, or call PairwiseJudge with any IChatClient");
                var client = ClientFactory(model);
                var template = pr.GetValue(promptFile) is { } pf ? JudgePromptTemplate.Load(pf) : JudgePromptTemplate.Default;
                Console.Error.WriteLine($"eval judge: prompt {template.Name}, {pairs.Count} pairs × 2 orders");
                var pj = new PairwiseJudge(client, prompt: template);
                foreach (var (p, a, b) in pairs) judgments.Add(await pj.JudgeAsync(p, a, b, ct));
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
