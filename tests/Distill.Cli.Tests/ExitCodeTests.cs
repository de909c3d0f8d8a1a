using System.CommandLine;
using System.Text.RegularExpressions;
using Distill.Bench.Cli.Commands;

namespace Distill.Cli.Tests;

/// <summary>
/// docs/architecture.md §4: on every verb, bad input exits 2 with exactly one stderr line `distill VERB: what, where`.
/// The verbs come from the same discovery as `distill` and `distill bench` (VerbHost.Root), so a new verb without a
/// bad-input case here fails <see cref="EveryVerbHasABadInputCase"/>.
/// </summary>
[Collection("console")]
public class ExitCodeTests
{
    static readonly RootCommand Cli = VerbHost.Root("distill", typeof(VerbHost).Assembly);
    static readonly RootCommand Bench = VerbHost.Root("distill bench", typeof(BenchOptions).Assembly);

    const string Missing = "/nonexistent/distill-exit-code-test";
    static readonly string SmokeSft = Distill.Data.RepoData.Find("..", "recipes", "smoke", "sft.yaml") ?? "recipes/smoke/sft.yaml";

    /// <summary>Per verb: arguments that are wrong in what they say (not in their syntax), and what the line must name.</summary>
    public static readonly TheoryData<string, string[], string> BadInputs = new()
    {
        { "info", ["--threads", "2"], "--threads" },
        { "init", ["--config", "no-such-preset", "--out", Missing], "no-such-preset" },
        { "score", ["--model", Missing, "--input", Missing + ".jsonl"], Missing },
        { "generate", ["--model", Missing, "--input", Missing + ".jsonl"], Missing },
        { "export", ["--model", Missing, "--format", "gguf", "--out", Missing + ".gguf"], Missing },
        { "merge", ["--model", Missing, "--adapter", Missing + "-lora", "--out", Missing + "-out"], Missing },
        { "serve", [], "--model" },
        { "generate", ["--model", Missing, "--input", Missing + ".jsonl", "--weights", "int4"], "--weights" },
        { "tokenize", ["--tokenizer", Missing, "--input", Missing + ".jsonl"], Missing },
        { "sandbox run", [Missing + ".py"], Missing + ".py" },
        { "eval code", ["--self-test", "no-such-bench"], "no-such-bench" },
        { "eval judge", ["--input", Missing + ".jsonl", "--replay", Missing + "-replay.jsonl"], Missing + ".jsonl" },
        { "eval reward", ["--model", Missing, "--input", Missing + ".jsonl"], Missing },
        { "eval rouge", ["--input", Missing + ".jsonl"], Missing + ".jsonl" },
        { "eval winrate", ["--input", Missing + ".jsonl"], Missing + ".jsonl" },
        { "train", ["--method", "sft", "--data", Missing + ".jsonl", "--model", Missing, "--out", Missing + "-out"], Missing },
        { "run", [Missing + ".yaml"], Missing + ".yaml" },
        { "run", [SmokeSft, "--set", "train.kd.no_such_key=1", "--out", Missing + "-run"], "train.kd.no_such_key" },
        { "run", [SmokeSft, "--set", "student.init=", "--set", "student.model=" + Missing, "--out", Missing + "-run"], "key 'student.model': '" + Missing + "' is not a model folder" },
        { "demo", ["--preset", "huge", "--out", Missing + "-demo"], "huge" },
        { "data task", ["--shard", "no-such-shard", "--out", Missing + ".jsonl"], "no-such-shard" },
        { "report", [Missing], Missing },
        { "data export-trl", ["--in", Missing + ".jsonl", "--out", Missing + "-trl.jsonl"], Missing + ".jsonl" },
        { "data import-trl", ["--in", Missing + ".parquet", "--out", Missing + "-back.jsonl"], Missing + ".parquet" },
        { "export", ["--format", "trl", "--recipe", Missing + ".yaml", "--out", Missing + "-trl"], Missing + ".yaml" },
        { "bench attention", ["--t", "0"], "--t" },
        { "bench decode-attention", ["--step", "200"], "--step" },
        { "bench decode", ["--new-tokens", "0"], "--new-tokens" },
        { "bench decode-llamacpp", ["--new-tokens", "0"], "--new-tokens" },
        { "bench engine", ["--layout", "XY"], "--layout" },
        { "bench nf4", ["--train-steps", "0"], "--train-steps" },
        { "bench quant-accuracy", ["--model", Missing], Missing },
        { "bench sample", ["--prompts", "0"], "--prompts" },
        { "bench serve", ["--requests", "1"], "--requests" },
        { "bench train", ["--steps", "0"], "--steps" },
        { "bench tokenizers", ["--tokenizer", Missing, "--input", Missing + ".jsonl"], Missing },
    };

    static IEnumerable<string> Verbs(Command command, string prefix = "")
    {
        foreach (var sub in command.Subcommands)
        {
            string path = prefix.Length == 0 ? sub.Name : $"{prefix} {sub.Name}";
            if (sub.Subcommands.Count == 0) yield return path;
            else foreach (var v in Verbs(sub, path)) yield return v;
        }
    }

    public static TheoryData<string> AllVerbs()
    {
        var data = new TheoryData<string>();
        foreach (var v in Verbs(Cli).Concat(Verbs(Bench))) data.Add(v);
        return data;
    }

    static (int Exit, string Err) Run(string verb, string[] args)
    {
        var root = verb.StartsWith("bench ", StringComparison.Ordinal) ? Bench : Cli;
        var (exit, _, err) = CliHarness.Run(root, [.. verb.Split(' '), .. args]);
        return (exit, err);
    }

    static void AssertOneLine(string verb, int exit, string err, string names)
    {
        Assert.True(exit == 2, $"distill {verb}: exit {exit}, stderr: {err}");
        var lines = err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, $"distill {verb}: {lines.Length} stderr lines: {err}");
        Assert.Matches("^distill " + Regex.Escape(verb) + ": .+", lines[0]);
        Assert.Contains(names, lines[0]);
    }

    [Theory]
    [MemberData(nameof(BadInputs))]
    public void BadInputExitsTwoWithOneLine(string verb, string[] args, string names)
    {
        var (exit, err) = Run(verb, args);
        AssertOneLine(verb, exit, err, names);
    }

    [Theory]
    [MemberData(nameof(AllVerbs))]
    public void AnUnknownOptionExitsTwoWithOneLine(string verb)
    {
        var (exit, err) = Run(verb, ["--no-such-option"]);
        AssertOneLine(verb, exit, err, "--no-such-option");
    }

    [Fact]
    public void EveryVerbHasABadInputCase()
    {
        var covered = BadInputs.Select(row => (string)row[0]).ToHashSet();
        var all = Verbs(Cli).Concat(Verbs(Bench)).ToList();
        Assert.Contains("eval code", all);
        Assert.Contains("bench engine", all);
        var uncovered = all.Where(v => !covered.Contains(v)).ToList();
        Assert.True(uncovered.Count == 0, "verbs without a bad-input case in BadInputs: " + string.Join(", ", uncovered));
    }
}
