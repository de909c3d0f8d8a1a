namespace Distill.Evaluation.Judge;

/// <summary>One judgment in one order: which position won, or why it could not be read.</summary>
public enum PositionVerdict { A, B, Tie, Unparseable }

/// <summary>The outcome of a pair judged in both orders, from the first answer's point of view.</summary>
public enum PairOutcome { Win, Tie, Loss, Error }

/// <summary>
/// Strict verdict parsing and the two-order combination of MT-Bench / FastChat.
/// Parsing: the judgment must contain exactly one kind of verdict token among [[A]], [[B]], [[C]]
/// (repeating the same token is fine). None, or two different ones ("[[A]] ... [[B]]"), is
/// Unparseable: never guessed. (FastChat takes the first of A, B, C found; we are stricter.)
/// Combination: first = answer 1 in position A; second = answer 1 in position B. Answer 1 wins
/// only if it wins in both orders, loses only if it loses in both; a tie in either order or a
/// disagreement is a tie; any unparseable judgment makes the pair an Error, counted apart.
/// </summary>
public static class JudgeVerdict
{
    public static PositionVerdict Parse(string? judgment)
    {
        if (judgment is null) return PositionVerdict.Unparseable;
        bool a = judgment.Contains("[[A]]", StringComparison.Ordinal);
        bool b = judgment.Contains("[[B]]", StringComparison.Ordinal);
        bool c = judgment.Contains("[[C]]", StringComparison.Ordinal);
        return (a, b, c) switch
        {
            (true, false, false) => PositionVerdict.A,
            (false, true, false) => PositionVerdict.B,
            (false, false, true) => PositionVerdict.Tie,
            _ => PositionVerdict.Unparseable,
        };
    }

    public static PairOutcome Combine(PositionVerdict first, PositionVerdict second)
    {
        if (first == PositionVerdict.Unparseable || second == PositionVerdict.Unparseable) return PairOutcome.Error;
        if (first == PositionVerdict.A && second == PositionVerdict.B) return PairOutcome.Win;
        if (first == PositionVerdict.B && second == PositionVerdict.A) return PairOutcome.Loss;
        return PairOutcome.Tie;
    }
}
