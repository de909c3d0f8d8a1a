using System.CommandLine;
using Distill.Methods.Runs;
using Distill.Methods.ScaleOut;
using Distill.Models.Export;

namespace Distill.Cli.Commands;

/// <summary>
/// `distill export`: a model (plus a LoRA adapter) as a merged Hugging Face folder, the adapter alone in PEFT's layout,
/// or one GGUF file llama.cpp and Ollama run (docs/export.md); with --format trl, a TRL project that trains a recipe's
/// method on GPU machines (docs/scale-out.md).
/// </summary>
sealed class ExportCommand : IVerb
{
    public Command Build()
    {
        var model = new Option<string?>("--model") { Description = "model folder (config.json + safetensors + tokenizer files); not for trl" };
        var adapter = new Option<string?>("--adapter") { Description = "PEFT LoRA adapter folder: merged for hf and gguf, exported alone for peft" };
        var format = new Option<string>("--format") { Description = "hf, peft, gguf, or trl (a TRL project for --recipe)", Required = true };
        var output = new Option<string>("--out") { Description = "output folder (hf, peft, trl) or .gguf file", Required = true };
        var recipe = new Option<string?>("--recipe") { Description = "trl: the recipe whose method the TRL project trains" };
        var run = new Option<string?>("--run") { Description = "trl: a `distill run` folder of that recipe, whose teacher answers / pairs become the project's datasets (needed by seqkd, dpo-kd-*, plad, persd)" };
        var dtype = new Option<string>("--dtype") { Description = "f32, f16 or bf16; gguf also q8_0 (norms, biases and 1-D tensors stay f32)", DefaultValueFactory = _ => "f32" };
        var command = new Command("export", "Export a model: merged Hugging Face folder, PEFT adapter, or GGUF for llama.cpp.\n"
            + "Example: distill export --model models/tiny --adapter runs/sft/adapter --format gguf --dtype q8_0 --out tiny-q8_0.gguf\n"
            + "         distill export --format trl --recipe recipes/dpo-kd-offline.yaml --run runs/dpo-kd-offline --out trl/dpo-kd");
        foreach (var o in new Option[] { model, adapter, format, output, dtype, recipe, run }) command.Options.Add(o);
        command.SetAction(pr =>
        {
            if (pr.GetValue(format) == "trl")
            {
                if (pr.GetValue(recipe) is not { } recipePath) throw new BadInputException("--format trl exports a recipe: give --recipe RECIPE.yaml");
                if (pr.GetValue(model) is not null || pr.GetValue(adapter) is not null)
                    throw new BadInputException("--format trl takes the student from the recipe (student.model), not --model/--adapter");
                var t = TrlProject.Write(Recipe.Load(recipePath), pr.GetValue(run), pr.GetValue(output)!);
                foreach (var n in t.Notes) Console.Error.WriteLine($"distill export: note: {n}");
                Console.WriteLine(t.Summary);
                return;
            }
            if (pr.GetValue(recipe) is not null || pr.GetValue(run) is not null) throw new BadInputException("--recipe and --run are for --format trl");
            if (pr.GetValue(model) is not { } modelDir) throw new BadInputException($"--format {pr.GetValue(format)} needs --model DIR");
            var f = ModelExport.ParseFormat(pr.GetValue(format)!);
            string d = pr.GetValue(dtype)!;
            if (f != ExportFormat.Gguf && d == "q8_0") throw new BadInputException($"--dtype q8_0 is for --format gguf; {pr.GetValue(format)} takes f32, f16 or bf16");
            var result = ModelExport.Run(f, modelDir, pr.GetValue(adapter), pr.GetValue(output)!, d);
            foreach (var c in result.Caveats) Console.Error.WriteLine($"distill export: note: {c}");
            Console.WriteLine(result.Summary);
        });
        return command;
    }
}
