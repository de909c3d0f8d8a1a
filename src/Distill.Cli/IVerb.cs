using System.CommandLine;

namespace Distill.Cli;

/// <summary>
/// One `distill` verb. Every non-abstract type implementing this in the CLI assembly is found by
/// reflection at start-up, so adding a verb is adding one file under Commands/ (no shared registry
/// file to edit). <see cref="Group"/> nests the verb: Group "bench" + Name "engine" = `distill bench engine`.
/// On bad input a verb throws (<see cref="BadInputException"/>, or the layers' own exceptions naming what and
/// where); <see cref="VerbHost"/> turns that into exit 2 and one stderr line, the same for every verb.
/// </summary>
public interface IVerb
{
    /// <summary>Parent verb group ("bench", "eval", "sandbox"), or null for a top-level verb.</summary>
    string? Group => null;

    /// <summary>Builds the command with its options, help text (with an example line) and action.</summary>
    Command Build();
}
