using System.Text.Json.Nodes;
using Distill.Methods.Demo;
using Distill.Methods.Runs;

namespace Distill.Methods.Tests.Runs;

/// <summary>
/// PLaD with an API teacher (an OpenAI-compatible endpoint on loopback, as the demo's served teacher): the requests and
/// tokens that reached the teacher are booked in the run's markers (stages/teacher-gen.json, as SeqKD and DPO-KD book
/// theirs), so the run's cost and the demo's teacher usage (<see cref="DemoPipeline.TeacherUsage"/>, read from the markers)
/// are not 0; a resumed run asks nothing and books nothing twice. The progress events come in order and reach their totals.
/// </summary>
public class PladApiTeacherTests
{
    const int N = 8;

    static Recipe PladRecipe(Uri endpoint) => Recipe.Parse($"""
        name: plad-api
        method: plad
        seed: 2
        data:
          source: builtin
          view: gen
          shard: train
          n: {N}
          max_difficulty: 1
        student:
          init: tiny
          adapter:
            r: 2
            alpha: 4
        teacher:
          model: openai:{DemoTeacherServer.ModelName}@{endpoint}
          max_tokens: 8
          max_retries: 0
          concurrency: 2
          price_input: 1.0
          price_output: 2.0
        init:
          tokenizer: bpe
          bpe_vocab: 320
        sampling:
          n: 1
          max_new_tokens: 8
        preference:
          loss: plad-rank
          drop_truncated: false
        plad:
          sft_epochs: 0
        train:
          max_steps: 2
          batch_size: 2
          max_seq_len: 96
          save_every: 2
        """, "plad-api.yaml");

    static long Requests(string dir) => Directory.GetFiles(Path.Combine(dir, "stages"), "*.json").Sum(f => (long)JsonNode.Parse(File.ReadAllText(f))!["requests"]!);

    [Fact]
    public async Task PladWithAnApiTeacher_BooksTheTeachersRequests_InItsMarkers_AndTheDemoUsage()
    {
        using var endpoint = new FaultEndpoint();
        endpoint.Decide = _ => new(FaultEndpoint.Kind.Answer);
        var recipe = PladRecipe(endpoint.BaseUrl);
        var dir = Directory.CreateTempSubdirectory("distill-plad-api-").FullName;
        try
        {
            var events = new List<RunProgressEvent>();
            await RunPipeline.RunAsync(recipe, dir, resume: false, TextWriter.Null, progress: RunProgress.Of(e => { lock (events) events.Add(e); }));
            Assert.Equal(N, endpoint.Requests);

            var gen = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "stages", "teacher-gen.json")))!;
            Assert.Equal(N, (long)gen["requests"]!);
            Assert.Equal(N * 10, (long)gen["input_tokens"]!);
            Assert.Equal(N * 5, (long)gen["output_tokens"]!);
            Assert.True((double)gen["cost_usd"]! > 0);
            Assert.Equal(N, Requests(dir));
            var usage = DemoPipeline.TeacherUsage(dir);
            Assert.Equal(N, (long)usage["requests"]!);
            Assert.Equal(N * 5, (long)usage["output_tokens"]!);

            // the events: the run's stages in order, each started then completed; teacher-gen inside plad one level deeper;
            // the teacher calls and the training steps reach their totals
            var outer = events.OfType<StageStarted>().Where(e => e.Level == 0).ToList();
            Assert.Equal(["data", "models", "plad"], outer.Select(e => e.Name));
            Assert.Equal([0, 1, 2], outer.Select(e => e.Index));
            Assert.All(outer, e => Assert.Equal(3, e.Count));
            Assert.Equal(["data", "models", "plad"], events.OfType<StageCompleted>().Where(e => e.Level == 0).Select(e => e.Name));
            Assert.Contains(events, e => e is StageStarted { Level: 1, Name: "teacher-gen" });
            var calls = events.OfType<WorkProgress>().Where(w => w.Unit == "calls").ToList();
            Assert.Equal(N, calls.Max(w => w.Done));
            Assert.All(calls, w => Assert.Equal(N, w.Total));
            var steps = events.OfType<WorkProgress>().Where(w => w.Unit == "steps").ToList();
            Assert.NotEmpty(steps);
            Assert.Equal(steps[^1].Total, steps[^1].Done);

            // resumed: every stage skipped, no request, the same booking
            events.Clear();
            await RunPipeline.RunAsync(recipe, dir, resume: true, TextWriter.Null, progress: RunProgress.Of(e => { lock (events) events.Add(e); }));
            Assert.Equal(N, endpoint.Requests);
            Assert.Equal(N, Requests(dir));
            Assert.All(events.OfType<StageCompleted>(), e => Assert.True(e.Skipped, e.Name));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
