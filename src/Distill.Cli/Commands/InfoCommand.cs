using System.CommandLine;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace Distill.Cli.Commands;

/// <summary>`distill info`: version, runtime, and the SIMD and thread facts that decide speed.</summary>
sealed class InfoCommand : IVerb
{
    public Command Build()
    {
        var command = new Command("info", "Print Distill's version, the runtime and the CPU features it uses.\nExample: distill info");
        command.SetAction(_ =>
        {
            var version = typeof(InfoCommand).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "?";
            Console.WriteLine($"distill {version}");
            Console.WriteLine($"runtime  {RuntimeInformation.FrameworkDescription} {RuntimeInformation.RuntimeIdentifier}");
            Console.WriteLine($"cores    {Environment.ProcessorCount}");
            Console.WriteLine($"simd     avx2={Avx2.IsSupported} fma={Fma.IsSupported} avx512f={Avx512F.IsSupported}");
            return 0;
        });
        return command;
    }
}
