using System.CommandLine;

namespace Distill.Cli.Tests;

/// <summary>What the CLI tests share: the repo root, and running a verb with stdout and stderr captured.</summary>
static class CliHarness
{
    public static string Root()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d != null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Distill.slnx"))) return d.FullName;
        throw new InvalidOperationException("repo root not found");
    }

    /// <summary>&lt;repo&gt;/data/PARTS...: the benchmarks and tokenizers shipped in the repository.</summary>
    public static string Data(params string[] parts) => Path.Combine([Root(), "data", .. parts]);

    /// <summary>
    /// Invokes the command through the CLI's own error path (<see cref="VerbHost"/>) with the console redirected;
    /// callers sit in the "console" collection (Console is process-wide).
    /// </summary>
    public static (int Exit, string Out, string Err) Run(Command command, params string[] args)
    {
        var (stdout, stderr) = (Console.Out, Console.Error);
        var (o, e) = (new StringWriter(), new StringWriter());
        Console.SetOut(o);
        Console.SetError(e);
        try { return (VerbHost.Invoke(command, args), o.ToString(), e.ToString()); }
        finally { Console.SetOut(stdout); Console.SetError(stderr); }
    }
}
