using Distill.Chat.Caching;
using Distill.Data.BuiltInTask;
using Distill.Data.Jsonl;
using Distill.Methods.Runs;

namespace Distill.Methods.Tests.Runs;

/// <summary>
/// A SeqKD run's data and teacher-gen stages against a local endpoint that fails on purpose
/// (HTTP 500, 429, a dropped connection, a time-out), resumed; the placeholder train stage; and a
/// canary API key that must reach the endpoint and nothing else.
/// </summary>
public class RunTests
{
    static (Recipe Recipe, string Dir, string KeyVar) Setup(FaultEndpoint endpoint, string key, int n = 12)
    {
        var keyVar = "DISTILL_TEST_KEY_" + Guid.NewGuid().ToString("N");
        Environment.SetEnvironmentVariable(keyVar, key);
        var yaml = $"""
            name: seqkd-test
            method: seqkd
            data:
              shard: test
              n: {n}
            student:
              model: /nonexistent/student
            teacher:
              model: openai:teacher@{endpoint.BaseUrl}
              api_key_env: {keyVar}
              max_retries: 0
              concurrency: 3
              timeout_s: 5   # the hang case costs this; 2 s failed a healthy answer when CI ran two test assemblies at once
            """;
        var dir = Directory.CreateTempSubdirectory("distill-run-").FullName;
        return (Recipe.Parse(yaml, "seqkd-test.yaml"), dir, keyVar);
    }

    static async Task<Exception?> Run(Recipe recipe, string dir, bool resume, StringWriter log)
    {
        var ctx = RunPipeline.Open(recipe, dir, resume, log);
        try { await StageRunner.RunAsync(ctx, RunPipeline.Stages(recipe, ctx.Dir, new RecipeTrainStage()), resume); return null; }
        catch (StageFailedException e) { return e; }
    }

    static List<string> Prompts(int n) => TaskGenerator.Generate(Shard.Test, n, 0).Select(p => p.Prompt).ToList();

    [Fact]
    public async Task TeacherFailingPartway_LosesNothing_AndResumePaysOnlyForTheMissing()
    {
        using var endpoint = new FaultEndpoint();
        var prompts = Prompts(12);
        endpoint.Decide = req => FaultEndpoint.Prompt(req) switch
        {
            var p when p == prompts[1] => new(FaultEndpoint.Kind.Status, 500, """{"error":{"message":"boom"}}"""),
            var p when p == prompts[5] => new(FaultEndpoint.Kind.Status, 429, """{"error":{"message":"slow down"}}"""),
            var p when p == prompts[9] => new(FaultEndpoint.Kind.Reset),
            var p when p == prompts[3] => new(FaultEndpoint.Kind.Hang),
            _ => new(FaultEndpoint.Kind.Answer),
        };
        var (recipe, dir, keyVar) = Setup(endpoint, "sk-test-not-a-secret-123456");
        var log = new StringWriter();
        try
        {
            var e = await Run(recipe, dir, resume: false, log);
            Assert.IsType<StageFailedException>(e);
            Assert.StartsWith("teacher-gen: 4 of 12 teacher calls failed (", e.Message);
            foreach (var reason in new[] { "HTTP 500 ×1", "HTTP 429 ×1", "connection failed ×1", "time-out ×1", "--resume" }) Assert.Contains(reason, e.Message);
            Assert.Equal(12, endpoint.Requests);
            using (var cache = new ResponseCache(Path.Combine(dir, "cache.sqlite"))) Assert.Equal(8, cache.Count());
            Assert.False(File.Exists(Path.Combine(dir, "data", "teacher-gen.jsonl")));
            Assert.False(File.Exists(Path.Combine(dir, "stages", "teacher-gen.json")));
            Assert.True(File.Exists(Path.Combine(dir, "stages", "data.json")));
            Assert.True(File.Exists(Path.Combine(dir, "stages", "teacher-gen.failed.json")));

            // not resuming an existing run is refused
            Assert.Contains("--resume", Assert.Throws<InvalidOperationException>(() => RunPipeline.Open(recipe, dir, false, log)).Message);

            // the teacher recovers: --resume asks only for the 4 missing answers, then stops at the train stage (no student folder)
            endpoint.Decide = _ => new(FaultEndpoint.Kind.Answer);
            var e2 = await Run(recipe, dir, resume: true, log);
            Assert.Equal(16, endpoint.Requests);
            Assert.Contains("train: student '/nonexistent/student' is not a model folder", e2!.Message);
            Assert.Contains("[data] complete, skipped", log.ToString());
            var answers = JsonlReader.Read(Path.Combine(dir, "data", "teacher-gen.jsonl")).Select(r => r.Json).ToList();
            Assert.Equal(prompts.Select(p => "answer to: " + p), answers.Select(a => (string)a["completion"]!));
            Assert.All(answers, a => Assert.NotNull(a["test"]));
            var marker = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "stages", "teacher-gen.json")))!;
            Assert.Equal(4, (int)marker["requests"]!);
            Assert.Equal(40, (int)marker["input_tokens"]!);
            Assert.Equal(20, (int)marker["output_tokens"]!);
            Assert.Null(marker["cost_usd"]); // "teacher" has no price: unknown, never guessed
            Assert.False(File.Exists(Path.Combine(dir, "stages", "teacher-gen.failed.json")));

            // resumed again: both stages skipped, nothing asked
            await Run(recipe, dir, resume: true, log);
            Assert.Equal(16, endpoint.Requests);

            // a repeated stage (its marker and output removed) is answered from the cache
            File.Delete(Path.Combine(dir, "stages", "teacher-gen.json"));
            File.Delete(Path.Combine(dir, "data", "teacher-gen.jsonl"));
            await Run(recipe, dir, resume: true, log);
            Assert.Equal(16, endpoint.Requests);
            Assert.Equal(12, JsonlReader.Read(Path.Combine(dir, "data", "teacher-gen.jsonl")).Count());

            // a changed recipe is not resumed silently
            var changed = Recipe.Parse(recipe.ToYaml(), "changed.yaml", ["teacher.temperature=0.7"]);
            Assert.Contains("teacher.temperature", Assert.Throws<RecipeException>(() => RunPipeline.Open(changed, dir, true, log)).Message);
        }
        finally
        {
            Environment.SetEnvironmentVariable(keyVar, null);
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public async Task CanaryKey_ReachesTheEndpoint_AndNothingElse()
    {
        var canary = "sk-canary-" + Guid.NewGuid().ToString("N");
        using var endpoint = new FaultEndpoint();
        var prompts = Prompts(6);
        // the endpoint echoes the request's Authorization header in an error body, as a careless proxy might
        endpoint.Decide = req => FaultEndpoint.Prompt(req) == prompts[2]
            ? new(FaultEndpoint.Kind.Status, 500, System.Text.Json.JsonSerializer.Serialize(new { error = new { message = "bad auth: " + req.Split("\r\n").First(l => l.StartsWith("Authorization", StringComparison.OrdinalIgnoreCase)) } }))
            : new(FaultEndpoint.Kind.Answer);
        var (recipe, dir, keyVar) = Setup(endpoint, canary, n: 6);
        var log = new StringWriter();
        try
        {
            var e1 = await Run(recipe, dir, resume: false, log);
            endpoint.Decide = _ => new(FaultEndpoint.Kind.Answer);
            var e2 = await Run(recipe, dir, resume: true, log);
            Assert.Contains(endpoint.Seen, r => r.Contains("Bearer " + canary)); // the key was used
            Assert.DoesNotContain(canary, e1!.Message + e2!.Message + log);
            var files = Directory.GetFiles(dir, "*", SearchOption.AllDirectories);
            Assert.Contains(files, f => f.EndsWith("cache.sqlite"));
            Assert.Contains(files, f => f.EndsWith("recipe.yaml"));
            foreach (var f in files)
                Assert.False(File.ReadAllText(f, System.Text.Encoding.Latin1).Contains(canary), $"{f} holds the API key");
            Assert.Contains(keyVar, File.ReadAllText(Path.Combine(dir, "recipe.yaml"))); // the variable's name is recorded, not its value
        }
        finally
        {
            Environment.SetEnvironmentVariable(keyVar, null);
            Directory.Delete(dir, true);
        }
    }

    sealed class CountingStage(string name) : IStage
    {
        public int Runs;
        public string Name => name;
        public Task<StageResult> RunAsync(RunContext ctx, CancellationToken ct)
        {
            Runs++;
            var path = ctx.Dir.DataFile(name + ".txt");
            RunDirectory.WriteAtomic(path, "x");
            return Task.FromResult(StageResult.Files(path));
        }
    }

    [Fact]
    public async Task CompleteStagesAreSkippedOnResume_UnlessTheirOutputIsGone()
    {
        var dir = Directory.CreateTempSubdirectory("distill-run-").FullName;
        try
        {
            var recipe = Recipe.Parse("method: sft\nstudent:\n  model: /m\n", "r.yaml");
            var ctx = RunPipeline.Open(recipe, dir, false, new StringWriter());
            var a = new CountingStage("a");
            var b = new CountingStage("b");
            await StageRunner.RunAsync(ctx, [a, b], resume: false);
            await StageRunner.RunAsync(ctx, [a, b], resume: true);
            Assert.Equal((1, 1), (a.Runs, b.Runs));
            File.Delete(ctx.Dir.DataFile("b.txt"));
            await StageRunner.RunAsync(ctx, [a, b], resume: true);
            Assert.Equal((1, 2), (a.Runs, b.Runs));
            await StageRunner.RunAsync(ctx, [a, b], resume: false); // without --resume every stage runs again
            Assert.Equal((2, 3), (a.Runs, b.Runs));
            var yaml = File.ReadAllText(Path.Combine(dir, "recipe.yaml"));
            Assert.Contains("max_grad_norm: 1.0", yaml);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public async Task SftRun_PreparesItsData_ThenTrainNamesTheMissingStudent()
    {
        var dir = Directory.CreateTempSubdirectory("distill-run-").FullName;
        try
        {
            var recipe = Recipe.Parse("method: sft\nstudent:\n  model: /m\ndata:\n  n: 20\n  view: sum\n", "r.yaml");
            var e = await Run(recipe, dir, false, new StringWriter());
            Assert.StartsWith("train: student '/m' is not a model folder", e!.Message);
            var rows = JsonlReader.Read(Path.Combine(dir, "data", "prompts.jsonl")).ToList();
            Assert.Equal(20, rows.Count);
            Assert.StartsWith(TaskViews.SummaryInstruction, rows[0].RequireString("prompt", "p"));
            Assert.False(Directory.EnumerateFileSystemEntries(Path.Combine(dir, "checkpoints")).Any());
            Assert.False(File.Exists(Path.Combine(dir, "stages", "train.json")));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public async Task MalformedDataFile_FailsNamingFileLineAndColumn()
    {
        var dir = Directory.CreateTempSubdirectory("distill-run-").FullName;
        try
        {
            var data = Path.Combine(dir, "in.jsonl");
            File.WriteAllText(data, "{\"prompt\": \"a\", \"completion\": \"b\"}\n{\"prompt\": \"a\"}\n");
            var recipe = Recipe.Parse($"method: sft\nstudent:\n  model: /m\ndata:\n  source: {data}\n", "r.yaml");
            var ctx = RunPipeline.Open(recipe, Path.Combine(dir, "run"), false, new StringWriter());
            var e = await Assert.ThrowsAsync<Distill.Data.Datasets.DatasetFormatException>(() => StageRunner.RunAsync(ctx, [new DataStage()], false));
            Assert.EndsWith("in.jsonl: line 2: column \"completion\" is missing", e.Message);
        }
        finally { Directory.Delete(dir, true); }
    }
}
