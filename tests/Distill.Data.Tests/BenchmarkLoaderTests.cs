using Distill.Data.Benchmarks;
using Distill.Data.Jsonl;

namespace Distill.Data.Tests;

public class BenchmarkLoaderTests
{
    static string Benchmarks
    {
        get
        {
            for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
                if (File.Exists(Path.Combine(d.FullName, "Distill.slnx")))
                    return Path.GetFullPath(Path.Combine(d.FullName, "data", "benchmarks"));
            throw new DirectoryNotFoundException("repo root not found");
        }
    }

    [Theory]
    [InlineData("humaneval", 164)]
    [InlineData("humanevalplus", 164)]
    [InlineData("mbpp", 974)]
    [InlineData("mbpp-sanitized", 427)]
    public void LoadsEveryRecordWithUniqueIds(string name, int count)
    {
        var tasks = BenchmarkLoader.Load(name, Benchmarks);
        Assert.Equal(count, tasks.Count);
        Assert.Equal(count, tasks.Select(t => t.TaskId).Distinct().Count());
        Assert.All(tasks, t => Assert.Contains($"def {t.EntryPoint}", t.CanonicalProgram));
    }

    [Fact]
    public void HumanEvalFields()
    {
        var t = BenchmarkLoader.Load("humaneval", Benchmarks)[0];
        Assert.Equal("HumanEval/0", t.TaskId);
        Assert.Equal("has_close_elements", t.EntryPoint);
        Assert.StartsWith("from typing import List", t.Prompt);
        Assert.Contains("def check(candidate):", t.Test);
        Assert.Equal(TestStyle.Check, t.Style);
        Assert.Equal(t.Prompt + t.CanonicalSolution, t.CanonicalProgram);
        Assert.Contains("import numpy as np", BenchmarkLoader.Load("humanevalplus", Benchmarks)[0].Test); // OriginFmt
    }

    [Fact]
    public void MbppFieldsAndLineEndings()
    {
        var all = BenchmarkLoader.Load("mbpp", Benchmarks);
        var t = all[0];
        Assert.Equal("Mbpp/1", t.TaskId);
        Assert.Equal("min_cost", t.EntryPoint);
        Assert.DoesNotContain('\r', t.CanonicalSolution);
        Assert.Equal(3, t.Test.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.False(t.CompletionContinuesPrompt);
        Assert.Equal(11, all.Count(x => x.ChallengeTests!.Count > 0));
        Assert.Equal(2, all.Count(x => x.CandidateSetup.Length > 0));
        var sanitized = BenchmarkLoader.Load("mbpp-sanitized", Benchmarks);
        Assert.Equal("similar_elements", sanitized[0].EntryPoint);   // found inside set(...)
        Assert.Equal(13, sanitized.Count(x => x.TestSetup.Length > 0)); // test_imports
    }

    [Fact]
    public void BadInputNamesFileAndLine()
    {
        var path = Path.Combine(Path.GetTempPath(), $"he-bad-{Guid.NewGuid():N}.jsonl");
        File.WriteAllText(path, "{\"task_id\": \"a\", \"prompt\": \"p\", \"entry_point\": \"f\", \"test\": \"t\", \"canonical_solution\": \"c\"}\n{\"task_id\": \"b\"}\n");
        try
        {
            var e = Assert.Throws<JsonlFormatException>(() => BenchmarkLoader.HumanEval(path));
            Assert.Equal(2, e.Line);
            Assert.Contains("prompt", e.Message);
        }
        finally { File.Delete(path); }
        Assert.Throws<ArgumentException>(() => BenchmarkLoader.Load("nope", Benchmarks));
    }
}
