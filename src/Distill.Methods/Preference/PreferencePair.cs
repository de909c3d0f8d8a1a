using System.Text.Json.Nodes;

namespace Distill.Methods.Preference;

/// <summary>One side of a pair before pairing: the text, who wrote it, and whether it was cut at the token budget (null = unknown).</summary>
public sealed record Answer(string Text, string Model, bool? Truncated = null, JsonObject? Sampling = null);

/// <summary>
/// A preference pair in TRL's columns (prompt, chosen, rejected) with its provenance: which model wrote each side,
/// the iteration (DPO-KD online), the sampling settings and seed of the sampled side, the scores when a scorer
/// looked at them, and how the label was decided: "pseudo" (teacher ≻ student, PLaD §4.2; DPO-KD §2) or "scored"
/// (ordered by the scorer, PLaD §5.3's "real" pairs).
/// </summary>
public sealed record PreferencePair(int PromptIndex, string Prompt, Answer Chosen, Answer Rejected, int Iteration)
{
    public double? ChosenScore { get; init; }
    public double? RejectedScore { get; init; }
    public string Label { get; init; } = "pseudo";
    public string? Reference { get; init; }

    /// <summary>The pair with its sides exchanged (a scorer preferred the rejected side).</summary>
    public PreferencePair Swapped() => this with { Chosen = Rejected, Rejected = Chosen, ChosenScore = RejectedScore, RejectedScore = ChosenScore };

    public JsonObject ToJson()
    {
        var o = new JsonObject
        {
            ["prompt"] = Prompt, ["chosen"] = Chosen.Text, ["rejected"] = Rejected.Text,
            ["prompt_index"] = PromptIndex, ["iteration"] = Iteration, ["label"] = Label,
            ["chosen_model"] = Chosen.Model, ["rejected_model"] = Rejected.Model,
        };
        if (Chosen.Sampling is { } cs) o["chosen_sampling"] = cs.DeepClone();
        if (Rejected.Sampling is { } rs) o["rejected_sampling"] = rs.DeepClone();
        if (ChosenScore is { } a) o["chosen_score"] = a;
        if (RejectedScore is { } b) o["rejected_score"] = b;
        if (Reference is not null) o["reference"] = Reference;
        return o;
    }
}

/// <summary>Pairs kept and dropped, by reason. A pair is dropped for its first failing check, in this order.</summary>
public sealed record PairStats(int Candidates, int Kept, int EmptyChosen, int EmptyRejected, int TruncatedChosen, int TruncatedRejected, int Identical)
{
    public int Dropped => Candidates - Kept;

    public JsonObject ToJson() => new()
    {
        ["candidates"] = Candidates, ["kept"] = Kept, ["dropped"] = Dropped,
        ["dropped_empty_chosen"] = EmptyChosen, ["dropped_empty_rejected"] = EmptyRejected,
        ["dropped_truncated_chosen"] = TruncatedChosen, ["dropped_truncated_rejected"] = TruncatedRejected,
        ["dropped_identical"] = Identical,
    };

    /// <summary>Reads the counts back from a NAME.stats.json.</summary>
    public static PairStats Read(string statsPath)
    {
        var o = JsonNode.Parse(File.ReadAllText(statsPath))!.AsObject();
        int I(string key) => (int?)o[key] ?? throw new FormatException($"{statsPath}: no \"{key}\"");
        return new PairStats(I("candidates"), I("kept"), I("dropped_empty_chosen"), I("dropped_empty_rejected"),
            I("dropped_truncated_chosen"), I("dropped_truncated_rejected"), I("dropped_identical"));
    }

    public override string ToString() => $"{Kept}/{Candidates} pairs kept; dropped: {EmptyChosen + EmptyRejected} empty, {TruncatedChosen + TruncatedRejected} truncated, {Identical} identical";
}
