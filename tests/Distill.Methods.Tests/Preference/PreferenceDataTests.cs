using Distill.Evaluation.Scoring;
using Distill.Methods.Preference;
using Distill.Models;
using Distill.Text;

namespace Distill.Methods.Tests.Preference;

/// <summary>Preference data: sampling with recorded seeds, pairs with provenance, drops counted by reason, scorer relabelling.</summary>
public class PreferenceDataTests
{
    static readonly SamplingSettings Sampling = new(N: 2, Temperature: 0.9f, TopP: 0.95f, MaxNewTokens: 6, Seed: 5);

    static SampledAnswer S(int prompt, int sample, string text, string finish = "eos") => new(prompt, sample, text, finish, 100UL + (ulong)sample);

    [Fact]
    public void PairsKeepProvenanceAndCountEveryDrop()
    {
        string[] prompts = ["p0", "p1", "p2", "p3"];
        var chosen = new Answer?[]
        {
            new("def f(): return 1", "openai:gpt-4o"),
            new("  ", "openai:gpt-4o"),                                  // empty teacher answer
            new("cut mid-sen", "openai:gpt-4o", Truncated: true),        // teacher hit max_tokens
            null,                                                        // teacher call never answered
        };
        var rejected = new[]
        {
            S(0, 0, "def f(): return 2"), S(0, 1, "def f(): return 1 "),    // kept; identical after trimming
            S(0, 2, ""), S(0, 3, "def f(): ret", "length"),                 // empty student; truncated student
            S(1, 0, "x"), S(2, 0, "y"), S(3, 0, "z"),
        };
        var (pairs, stats) = PairBuilder.Build(prompts, chosen, rejected, "student", Sampling, iteration: 2, references: ["ref0", null, null, null]);
        Assert.Equal(new PairStats(Candidates: 7, Kept: 1, EmptyChosen: 2, EmptyRejected: 1, TruncatedChosen: 1, TruncatedRejected: 1, Identical: 1), stats);
        Assert.Equal(6, stats.Dropped);
        var json = Assert.Single(pairs).ToJson();
        Assert.Equal("p0", (string?)json["prompt"]);
        Assert.Equal("def f(): return 1", (string?)json["chosen"]);
        Assert.Equal("def f(): return 2", (string?)json["rejected"]);
        Assert.Equal("openai:gpt-4o", (string?)json["chosen_model"]);
        Assert.Equal("student", (string?)json["rejected_model"]);
        Assert.Equal(2, (int)json["iteration"]!);
        Assert.Equal("pseudo", (string?)json["label"]);
        Assert.Equal("ref0", (string?)json["reference"]);
        var s = json["rejected_sampling"]!;
        Assert.Equal(0.9f, (float)s["temperature"]!);
        Assert.Equal(0.95f, (float)s["top_p"]!);
        Assert.Equal(2, (int)s["n"]!);
        Assert.Equal(100UL, (ulong)s["answer_seed"]!);
        Assert.Equal("eos", (string?)s["finish_reason"]);

        string dir = Directory.CreateTempSubdirectory("pairs").FullName;
        var path = Path.Combine(dir, "pairs.jsonl");
        PairBuilder.Write(path, pairs, stats);
        Assert.Single(File.ReadAllLines(path));
        Assert.Contains("\"dropped_identical\": 1", File.ReadAllText(PairBuilder.StatsPath(path)));
    }

    [Fact]
    public void LocalSamplingIsSeededPerIterationAndPrompt()
    {
        string dir = TinyLm.Make(Directory.CreateTempSubdirectory("sampler").FullName);
        using var model = ModelIO.Load(dir);
        var tok = TokenizerLoader.Load(dir);
        string[] prompts = ["Write a function that adds two numbers.", "Summarize: the cat sat."];
        var a = LocalSampler.Sample(model, tok, prompts, Sampling, iteration: 0);
        var b = LocalSampler.Sample(model, tok, prompts, Sampling, iteration: 0);
        var c = LocalSampler.Sample(model, tok, prompts, Sampling, iteration: 1);
        Assert.Equal(4, a.Count);                                        // n = 2 per prompt
        Assert.Equal(a, b);                                              // same seeds → same answers
        Assert.Equal(Sampling.SeedFor(0, 1), a[2].Seed);
        Assert.NotEqual(a.Select(x => x.Seed), c.Select(x => x.Seed));    // iteration k gets its own streams
        Assert.NotEqual(a.Select(x => x.Text), c.Select(x => x.Text));
        Assert.All(a, x => Assert.Equal("length", x.FinishReason));      // a random model does not stop in 6 tokens
        Assert.All(a, x => Assert.True(x.Truncated));
    }

    sealed class LengthScorer : IScorer
    {
        public string Name => "length";
        public Task<double> ScoreAsync(ScoringInput input, CancellationToken ct = default) => Task.FromResult((double)input.Response.Length);
    }

    [Fact]
    public async Task ScorerRelabelsASeededFractionAndScoresAllForTheMarginLoss()
    {
        // the "teacher" side is shorter in every pair, so a length scorer prefers the student side: every relabelled pair swaps
        var pairs = Enumerable.Range(0, 10).Select(i => new PreferencePair(i, $"p{i}", new Answer("ab", "t"), new Answer("abcd" + i, "s"), 0)).ToList();
        var (half, report) = await PairScoring.ApplyAsync(pairs, new LengthScorer(), 0.5, scoreAll: false, seed: 9);
        Assert.Equal(new ScoringReport(Scored: 5, Relabelled: 5, Swapped: 5, Scorer: "length"), report);
        Assert.Equal(5, half.Count(p => p.Label == "scored"));
        Assert.All(half.Where(p => p.Label == "scored"), p => { Assert.Equal("s", p.Chosen.Model); Assert.True(p.ChosenScore > p.RejectedScore); });
        Assert.All(half.Where(p => p.Label == "pseudo"), p => { Assert.Equal("t", p.Chosen.Model); Assert.Null(p.ChosenScore); });
        var (again, _) = await PairScoring.ApplyAsync(pairs, new LengthScorer(), 0.5, scoreAll: false, seed: 9);
        Assert.Equal(half.Select(p => p.Label), again.Select(p => p.Label));

        var (all, r2) = await PairScoring.ApplyAsync(pairs, new LengthScorer(), 0.0, scoreAll: true, seed: 9);
        Assert.Equal(new ScoringReport(10, 0, 0, "length"), r2);
        Assert.All(all, p => { Assert.Equal("pseudo", p.Label); Assert.Equal(2.0, p.ChosenScore); Assert.Equal(5.0, p.RejectedScore); });
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => PairScoring.ApplyAsync(pairs, new LengthScorer(), 1.5, false, 0));
    }
}
