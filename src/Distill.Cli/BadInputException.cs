namespace Distill.Cli;

/// <summary>Bad input a verb found itself (an option out of range, a missing file): <see cref="VerbHost"/> reports it.</summary>
public sealed class BadInputException(string message) : Exception(message);
