namespace Distill.Data.BuiltInTask;

/// <summary>
/// One step of a built-in problem: a Python expression over the previous value, its meaning in C#
/// (<see cref="Eval"/>, which computes the expected outputs of the hidden tests), and several
/// natural-language phrasings. <see cref="Id"/> (with its parameter, e.g. <c>keep_gt(3)</c>) is
/// the step's part of a problem's canonical composition: it must never change meaning.
/// </summary>
/// <param name="Python">The expression, given the name of the value it reads.</param>
/// <param name="Clauses">Imperative phrasings used in the middle of a description ("keep only the even numbers").</param>
/// <param name="Finals">Phrasings that also say what is returned, used when the step is last ("return their sum"); may be empty.</param>
/// <param name="Slug">Words for the function name.</param>
public sealed record Operation(
    string Id,
    PyType In,
    PyType Out,
    string Slug,
    Func<string, string> Python,
    Func<object, object> Eval,
    string[] Clauses,
    string[] Finals)
{
    public override string ToString() => Id;
}
