using System.CommandLine;
using Distill.Evaluation.Sandbox;

namespace Distill.Cli.Commands;

/// <summary>`--isolation auto|bwrap|unshare`, shared by `sandbox run` and `eval code`.</summary>
static class IsolationOption
{
    public static Option<IsolationMode> Create()
    {
        var o = new Option<IsolationMode>("--isolation")
        {
            Description = "Sandbox: auto (bubblewrap if installed, else unshare as root), bwrap, or unshare",
            DefaultValueFactory = _ => IsolationMode.Auto,
            CustomParser = r => r.Tokens.Single().Value switch
            {
                "auto" => IsolationMode.Auto,
                "bwrap" => IsolationMode.Bubblewrap,
                "unshare" => IsolationMode.Unshare,
                var v => Fail(r, v),
            },
        };
        o.AcceptOnlyFromAmong("auto", "bwrap", "unshare");
        return o;
    }

    static IsolationMode Fail(System.CommandLine.Parsing.ArgumentResult r, string v)
    {
        r.AddError($"--isolation must be auto, bwrap or unshare, not {v}");
        return IsolationMode.Auto;
    }
}
