namespace Distill.Cli;

/// <summary>Help text of the verb groups (`distill bench`, `distill eval`, ...).</summary>
static class VerbGroups
{
    public static string Describe(string group) => group switch
    {
        "bench" => "Measure speed and memory (see docs/performance.md).",
        "data" => "Datasets: the built-in code task; TRL dataset formats out and in.",
        "eval" => "Evaluate models: pass@k, ROUGE, pairwise judge, win rates.",
        "sandbox" => "Run untrusted Python in the evaluation sandbox.",
        _ => $"{group} commands.",
    };
}
