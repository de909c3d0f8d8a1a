using System.CommandLine;
using Distill.Models;
using Distill.Models.Formats;

namespace Distill.Cli.Commands;

/// <summary>`distill init`: a randomly initialized model (transformers' _init_weights) saved as a Hugging Face folder.</summary>
sealed class InitCommand : IVerb
{
    public Command Build()
    {
        var config = new Option<string>("--config") { Description = $"preset ({string.Join(", ", ModelPresets.Names)}) or a config.json", Required = true };
        var tokenizer = new Option<string?>("--tokenizer") { Description = "tokenizer.json or its folder: the vocabulary size follows it, its files are copied" };
        var output = new Option<string>("--out") { Description = "output folder", Required = true };
        var seed = new Option<ulong>("--seed") { Description = "random seed", DefaultValueFactory = _ => 0 };
        var dtype = new Option<string>("--dtype") { Description = "f32 or bf16", DefaultValueFactory = _ => "f32" };
        var command = new Command("init", "Create a randomly initialized model folder (config.json + model.safetensors).\nExample: distill init --config tiny --tokenizer tok/tokenizer.json --out models/tiny --seed 1");
        foreach (var o in new Option[] { config, tokenizer, output, seed, dtype }) command.Options.Add(o);
        command.SetAction(pr =>
        {
            var d = pr.GetValue(dtype) switch
            {
                "f32" => SafetensorsDType.F32,
                "bf16" => SafetensorsDType.BF16,
                var other => throw new ArgumentException($"--dtype must be f32 or bf16, got '{other}'"),
            };
            var c = ModelFolder.ResolveConfig(pr.GetValue(config)!, pr.GetValue(tokenizer));
            long n = ModelFolder.Init(c, pr.GetValue(tokenizer), pr.GetValue(output)!, pr.GetValue(seed), d);
            Console.WriteLine($"{c.Architecture} {n:N0} parameters (vocab {c.VocabSize}) → {pr.GetValue(output)}");
        });
        return command;
    }
}
