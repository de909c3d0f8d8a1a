using System.CommandLine;
using Distill.Models.Export;

namespace Distill.Cli.Commands;

/// <summary>
/// `distill export`: a model (plus a LoRA adapter) as a merged Hugging Face folder, the adapter alone in PEFT's layout,
/// or one GGUF file llama.cpp and Ollama run (docs/export.md).
/// </summary>
sealed class ExportCommand : IVerb
{
    public Command Build()
    {
        var model = new Option<string>("--model") { Description = "model folder (config.json + safetensors + tokenizer files)", Required = true };
        var adapter = new Option<string?>("--adapter") { Description = "PEFT LoRA adapter folder: merged for hf and gguf, exported alone for peft" };
        var format = new Option<string>("--format") { Description = "hf, peft or gguf", Required = true };
        var output = new Option<string>("--out") { Description = "output folder (hf, peft) or .gguf file", Required = true };
        var dtype = new Option<string>("--dtype") { Description = "f32, f16 or bf16; gguf also q8_0 (norms, biases and 1-D tensors stay f32)", DefaultValueFactory = _ => "f32" };
        var command = new Command("export", "Export a model: merged Hugging Face folder, PEFT adapter, or GGUF for llama.cpp.\n"
            + "Example: distill export --model models/tiny --adapter runs/sft/adapter --format gguf --dtype q8_0 --out tiny-q8_0.gguf");
        foreach (var o in new Option[] { model, adapter, format, output, dtype }) command.Options.Add(o);
        command.SetAction(pr =>
        {
            var f = ModelExport.ParseFormat(pr.GetValue(format)!);
            string d = pr.GetValue(dtype)!;
            if (f != ExportFormat.Gguf && d == "q8_0") throw new BadInputException($"--dtype q8_0 is for --format gguf; {pr.GetValue(format)} takes f32, f16 or bf16");
            var result = ModelExport.Run(f, pr.GetValue(model)!, pr.GetValue(adapter), pr.GetValue(output)!, d);
            foreach (var c in result.Caveats) Console.Error.WriteLine($"distill export: note: {c}");
            Console.WriteLine(result.Summary);
        });
        return command;
    }
}
