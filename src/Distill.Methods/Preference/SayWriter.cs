using Distill.Methods.Runs;

namespace Distill.Methods.Preference;

/// <summary>Lines written to it go to the run's log (console and run.log, keys scrubbed).</summary>
internal sealed class SayWriter(RunContext ctx) : TextWriter
{
    public override System.Text.Encoding Encoding => System.Text.Encoding.UTF8;
    public override void WriteLine(string? value) => ctx.Say(value ?? "");
}
