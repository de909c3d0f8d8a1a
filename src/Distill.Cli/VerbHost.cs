using System.CommandLine;
using System.Reflection;
using System.Text.Json;
using Distill.Data.Jsonl;
using Distill.Models.Formats;

namespace Distill.Cli;

/// <summary>
/// Builds a command tree from the <see cref="IVerb"/>s of an assembly and runs it through the one error path
/// of every verb (docs/architecture.md §4): bad input — a parse error, or an exception of the kinds below that a
/// verb lets through — exits <see cref="BadInputExit"/> with exactly one line `distill VERB: what, where` on
/// stderr. Verbs therefore throw on bad input instead of printing; any other exception is a bug and
/// keeps its stack trace.
/// </summary>
public static class VerbHost
{
    public const int BadInputExit = 2;

    /// <summary>The root command holding every verb of <paramref name="verbs"/>, grouped by <see cref="IVerb.Group"/>.</summary>
    public static RootCommand Root(string description, Assembly verbs)
    {
        var root = new RootCommand(description);
        var groups = new Dictionary<string, Command>(StringComparer.Ordinal);
        var built = verbs.GetTypes()
            .Where(t => typeof(IVerb).IsAssignableFrom(t) && t is { IsAbstract: false, IsInterface: false })
            .Select(t => (IVerb)Activator.CreateInstance(t)!)
            .Select(v => (v.Group, Command: v.Build()))
            .OrderBy(v => v.Group ?? "").ThenBy(v => v.Command.Name, StringComparer.Ordinal);
        foreach (var (group, command) in built)
        {
            if (group is null) { root.Subcommands.Add(command); continue; }
            if (!groups.TryGetValue(group, out var parent))
            {
                parent = new Command(group, VerbGroups.Describe(group));
                groups[group] = parent;
                root.Subcommands.Add(parent);
            }
            parent.Subcommands.Add(command);
        }
        return root;
    }

    /// <summary>Parses and runs <paramref name="args"/> against <paramref name="root"/>; bad input becomes exit 2 and one stderr line.</summary>
    public static async Task<int> InvokeAsync(Command root, string[] args, CancellationToken ct = default)
    {
        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
            return Report(parsed, parsed.Errors[0].Message + (parsed.CommandResult.Command.Subcommands.Count > 0 ? $" (see {Name(parsed)} --help)" : ""));
        // ProcessTerminationTimeout null: signals are the host's (Program.cs, Interruption.cs) and arrive as ct
        try { return await parsed.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null }, ct); }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            Console.Error.WriteLine($"{Name(parsed)}: interrupted");
            return Interruption.ExitCode;
        }
        catch (Exception e) when (IsBadInput(e)) { return Report(parsed, e.Message); }
    }

    public static int Invoke(Command root, params string[] args) => InvokeAsync(root, args).GetAwaiter().GetResult();

    /// <summary>
    /// What counts as bad input: the exceptions the layers throw for a file, record, option or model they cannot use
    /// (each names what and where). InvalidOperationException is among them because the layers use it for
    /// "this model cannot do that" (a chat model without a tokenizer, a judge without a client).
    /// </summary>
    public static bool IsBadInput(Exception e) => e is BadInputException or ArgumentException or FormatException or IOException
        or NotSupportedException or UnauthorizedAccessException or InvalidOperationException or JsonException
        or JsonlFormatException or ModelFormatException;

    static int Report(ParseResult parsed, string message)
    {
        var oneLine = string.Join(' ', message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Console.Error.WriteLine($"{Name(parsed)}: {oneLine}");
        return BadInputExit;
    }

    /// <summary>"distill eval code": the verb's path below the root (the root's own name is the host's file name).</summary>
    static string Name(ParseResult parsed)
    {
        var names = new List<string>();
        for (var r = parsed.CommandResult; r is not null; r = r.Parent as System.CommandLine.Parsing.CommandResult)
            if (r.Command is not RootCommand) names.Insert(0, r.Command.Name);
        return string.Join(' ', names.Prepend("distill"));
    }
}
