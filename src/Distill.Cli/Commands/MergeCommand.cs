using System.CommandLine;
using Distill.Models;
using Distill.Models.Formats;
using Distill.Models.Lora;

namespace Distill.Cli.Commands;

/// <summary>`distill merge`: a base model plus a PEFT LoRA adapter → one plain Hugging Face folder (merge_and_unload).</summary>
sealed class MergeCommand : IVerb
{
    public Command Build()
    {
        var model = new Option<string>("--model") { Description = "base model folder", Required = true };
        var adapter = new Option<string>("--adapter") { Description = "PEFT LoRA adapter folder", Required = true };
        var output = new Option<string>("--out") { Description = "output folder", Required = true };
        var dtype = new Option<string>("--dtype") { Description = "f32 or bf16", DefaultValueFactory = _ => "f32" };
        var command = new Command("merge", "Merge a LoRA adapter into its base model (W += α/r · B A) and save a plain model folder.\n" +
            "Example: distill merge --model models/tiny --adapter runs/dpo/checkpoints/100 --out models/tiny-dpo");
        foreach (var o in new Option[] { model, adapter, output, dtype }) command.Options.Add(o);
        command.SetAction(pr =>
        {
            var d = pr.GetValue(dtype) switch
            {
                "f32" => SafetensorsDType.F32,
                "bf16" => SafetensorsDType.BF16,
                var other => throw new ArgumentException($"--dtype must be f32 or bf16, got '{other}'"),
            };
            using var m = ModelIO.Load(pr.GetValue(model)!);
            var config = LoraModel.Load(m, pr.GetValue(adapter)!);
            int adapted = LoraModel.Branches(m).Count();
            LoraModel.MergeAndUnload(m);
            string outDir = pr.GetValue(output)!;
            ModelIO.Save(m, outDir, d);
            TokenizerFiles.CopyTo(pr.GetValue(model)!, outDir);
            Console.WriteLine($"merged {adapted} adapters (r {config.R}, scaling {config.Scaling:G4}) → {outDir}");
        });
        return command;
    }
}
