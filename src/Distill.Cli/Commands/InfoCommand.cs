using System.CommandLine;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using Distill.Models;
using Distill.Models.Formats;

namespace Distill.Cli.Commands;

/// <summary>
/// `distill info`: version, runtime, and the SIMD and thread facts that decide speed; with --model, what a model folder holds
/// (class, config.json generation, the checkpoint's tensor-name layout) without loading its weights.
/// </summary>
sealed class InfoCommand : IVerb
{
    public Command Build()
    {
        var model = new Option<string?>("--model") { Description = "a Hugging Face model folder to describe (config.json + *.safetensors)" };
        var command = new Command("info", "Print Distill's version, the runtime and the CPU features it uses; with --model, what a model folder holds.\n"
            + "Example: distill info --model models/gpt2") { model };
        command.SetAction(pr =>
        {
            var version = typeof(InfoCommand).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "?";
            Console.WriteLine($"distill {version}");
            Console.WriteLine($"runtime  {RuntimeInformation.FrameworkDescription} {RuntimeInformation.RuntimeIdentifier}");
            Console.WriteLine($"cores    {Environment.ProcessorCount}");
            Console.WriteLine($"simd     avx2={Avx2.IsSupported} fma={Fma.IsSupported} avx512f={Avx512F.IsSupported}");
            if (pr.GetValue(model) is { } dir) return DescribeModel(dir);
            return 0;
        });
        return command;
    }

    static int DescribeModel(string dir)
    {
        try
        {
            var (config, layout, tensors) = ModelIO.Inspect(dir);
            string prefix = CheckpointLayouts.PrefixOf(config.Family);
            Console.WriteLine($"model    {config.Architecture} ({config.ModelType}), {config.NumLayers} layers, hidden {config.HiddenSize}, vocab {config.VocabSize}");
            string positions = config.Family == ModelFamily.Gpt2 ? "learned positions"
                : $"rope_theta {config.RopeTheta}, rope scaling {config.RopeScaling?.Type ?? "none"}, partial_rotary_factor {config.PartialRotaryFactor}";
            Console.WriteLine($"config   transformers {config.ConfigGeneration} config.json ({positions}, dtype {config.TorchDType})");
            Console.WriteLine($"layout   {(layout == CheckpointLayout.Prefixed ? "prefixed" : "unprefixed")}: {CheckpointLayouts.Describe(layout, prefix)}, {tensors} tensors");
            Console.WriteLine($"head     {(config.IsSequenceClassifier ? $"score ({config.NumLabels} labels)" : config.TieWordEmbeddings ? "lm_head tied to the input embedding" : "lm_head")}");
            return 0;
        }
        catch (Exception e) when (e is ModelFormatException or IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"distill info: {e.Message}");
            return 2;
        }
    }
}
