using System.CommandLine;
using Distill.Data.Datasets;
using Distill.Data.Jsonl;

namespace Distill.Cli.Commands;

/// <summary>
/// `distill data export-trl`: a Distill dataset (pairs, teacher answers, SFT records; JSONL or Parquet) in one of TRL's
/// dataset formats — preference, prompt-completion or messages, standard or conversational — with every provenance
/// column kept (docs/scale-out.md).
/// </summary>
sealed class DataExportTrlCommand : IVerb
{
    public string? Group => "data";

    public Command Build()
    {
        var input = new Option<string>("--in") { Description = "Distill dataset (.jsonl or .parquet): prompt + completion, or prompt + chosen + rejected", Required = true };
        var output = new Option<string>("--out") { Description = "TRL dataset, JSONL (written atomically; '-' = stdout)", Required = true };
        var type = new Option<string>("--type") { Description = "auto (from the columns), preference, prompt-completion or messages", DefaultValueFactory = _ => "auto" };
        var style = new Option<string>("--style") { Description = "standard (strings) or conversational (lists of {role, content}); messages is conversational", DefaultValueFactory = _ => "standard" };
        var command = new Command("export-trl", "Write a Distill dataset in TRL's columns (provenance columns kept).\n"
            + "Example: distill data export-trl --in runs/dpo/iter-1/pairs.jsonl --style conversational --out pairs.trl.jsonl");
        foreach (var o in new Option[] { input, output, type, style }) command.Options.Add(o);
        command.SetAction(pr =>
        {
            var path = pr.GetValue(input)!;
            string t = pr.GetValue(type)!;
            var st = TrlFormat.ParseStyle(pr.GetValue(style)!);
            TrlType? fixedType = t == "auto" ? null : TrlFormat.ParseType(t);
            if (fixedType == TrlType.Messages && pr.GetResult(style) is { Implicit: true }) st = TrlStyle.Conversational;
            int n = 0;
            var kinds = new SortedSet<string>();
            using (var w = new JsonlWriter(pr.GetValue(output)!))
            {
                foreach (var rec in DatasetReader.Read(path))
                {
                    var k = fixedType ?? TrlFormat.TypeOf(rec);
                    kinds.Add(TrlFormat.Name(k));
                    w.Write(TrlFormat.ToTrl(rec, k, st));
                    n++;
                }
                if (n == 0) throw new BadInputException($"{path}: no records");
                w.Commit();
            }
            if (pr.GetValue(output) != "-")
                Console.Error.WriteLine($"{n} records, TRL {string.Join("+", kinds)} ({st.ToString().ToLowerInvariant()}) → {pr.GetValue(output)}");
        });
        return command;
    }
}

/// <summary>
/// `distill data import-trl`: a TRL dataset (any of the three types, standard or conversational, JSONL or Parquet — a
/// Hugging Face Hub dataset file) in Distill's columns: prompt + completion or prompt + chosen + rejected, a system turn
/// as "system", every other column kept.
/// </summary>
sealed class DataImportTrlCommand : IVerb
{
    public string? Group => "data";

    public Command Build()
    {
        var input = new Option<string>("--in") { Description = "TRL dataset (.jsonl or .parquet)", Required = true };
        var output = new Option<string>("--out") { Description = "Distill dataset, JSONL (written atomically; '-' = stdout)", Required = true };
        var command = new Command("import-trl", "Read a TRL dataset into Distill's columns (prompt, completion / chosen, rejected).\n"
            + "Example: distill data import-trl --in train-00000-of-00001.parquet --out pairs.jsonl");
        foreach (var o in new Option[] { input, output }) command.Options.Add(o);
        command.SetAction(pr =>
        {
            var path = pr.GetValue(input)!;
            int n = 0;
            using (var w = new JsonlWriter(pr.GetValue(output)!))
            {
                foreach (var rec in DatasetReader.Read(path)) { w.Write(TrlFormat.FromTrl(rec)); n++; }
                if (n == 0) throw new BadInputException($"{path}: no records");
                w.Commit();
            }
            if (pr.GetValue(output) != "-") Console.Error.WriteLine($"{n} records → {pr.GetValue(output)}");
        });
        return command;
    }
}
