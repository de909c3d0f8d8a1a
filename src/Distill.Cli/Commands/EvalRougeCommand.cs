using System.CommandLine;
using System.Text.Json.Nodes;
using Distill.Data;
using Distill.Data.Jsonl;
using Distill.Evaluation.Rouge;
using Spectre.Console;

namespace Distill.Cli.Commands;

/// <summary>`distill eval rouge`: mean ROUGE-1/2/L/Lsum F-measure (×100) of predictions against references.</summary>
sealed class EvalRougeCommand : IVerb
{
    public string? Group => "eval";

    public Command Build()
    {
        var input = new Option<string>("--input") { Description = "JSONL with a prediction and a reference field per line", Required = true };
        var pred = new Option<string>("--pred-field") { Description = "Field holding the prediction", DefaultValueFactory = _ => "prediction" };
        var refField = new Option<string>("--ref-field") { Description = "Field holding the reference", DefaultValueFactory = _ => "reference" };
        var noStem = new Option<bool>("--no-stemmer") { Description = "Do not Porter-stem (DistiLLM reports ROUGE-L with the stemmer on)" };
        var output = new Option<string?>("--out") { Description = "Write the JSON result here" };
        var json = new Option<bool>("--json") { Description = "Print the result as JSON" };
        var command = new Command("rouge", "ROUGE-1/2/L/Lsum F-measure ×100 with rouge-score's conventions.\nExample: distill eval rouge --input gen.jsonl --pred-field completion --ref-field reference");
        foreach (var o in new Option[] { input, pred, refField, noStem, output, json }) command.Options.Add(o);
        command.SetAction(pr =>
        {
            var path = pr.GetValue(input)!;
            var scorer = new RougeScorer(!pr.GetValue(noStem));
            double r1 = 0, r2 = 0, rl = 0, rls = 0, tw = 0, pw = 0;
            int n = 0;
            foreach (var rec in JsonlReader.Read(path))
            {
                var s = scorer.Score(rec.RequireString(pr.GetValue(refField)!, path), rec.RequireString(pr.GetValue(pred)!, path));
                r1 += s.Rouge1.FMeasure; r2 += s.Rouge2.FMeasure; rl += s.RougeL.FMeasure; rls += s.RougeLsum.FMeasure;
                tw += s.TargetWords; pw += s.PredictionWords; n++;
            }
            if (n == 0) throw new BadInputException($"{path} has no records");
            var result = new JsonObject
            {
                ["input"] = path, ["count"] = n, ["stemmer"] = scorer.UseStemmer,
                ["rouge1"] = Math.Round(100 * r1 / n, 4), ["rouge2"] = Math.Round(100 * r2 / n, 4),
                ["rougeL"] = Math.Round(100 * rl / n, 4), ["rougeLsum"] = Math.Round(100 * rls / n, 4),
                ["mean_reference_words"] = Math.Round(tw / n, 2), ["mean_prediction_words"] = Math.Round(pw / n, 2),
            };
            if (pr.GetValue(output) is { } o) AtomicFile.WriteAllText(o, result.ToJsonString(new() { WriteIndented = true }));
            if (pr.GetValue(json)) { Console.WriteLine(result.ToJsonString()); return 0; }
            var t = new Table().AddColumn("metric").AddColumn(new TableColumn("F ×100").RightAligned());
            foreach (var k in new[] { "rouge1", "rouge2", "rougeL", "rougeLsum", "mean_reference_words", "mean_prediction_words" })
                t.AddRow(k, result[k]!.ToString());
            AnsiConsole.Write(t);
            return 0;
        });
        return command;
    }
}
