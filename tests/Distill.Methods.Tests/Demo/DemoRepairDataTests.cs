using System.Text.Json.Nodes;
using Distill.Chat.Clients;
using Distill.Data.BuiltInTask;
using Distill.Evaluation.Sandbox;
using Distill.Methods.Demo;
using Distill.Methods.Persd;
using Distill.Methods.Runs;

namespace Distill.Methods.Tests.Demo;

/// <summary>
/// The demo teacher's repair conversations (<see cref="DemoRepairData"/>): PERsD's own conversation for a train problem, as
/// the served teacher reads it, a wrong program that really fails with its sandbox feedback, and a completion that PERsD
/// parses into a passing refinement; train-shard problems only. And the demo's PERsD recipes: the student's gen-view prompt.
/// </summary>
public class DemoRepairDataTests
{
    [Fact]
    public async Task EachRecordIsPersdsConversation_TheWrongProgramFails_AndTheCompletionIsAPassingRefinement()
    {
        var items = PersdTasks.Load("builtin:train", PersdSplit.Train, "", 24, 0, 2);
        var executor = new CodeExecutor(new SandboxOptions { TimeoutSeconds = 5 }, null);
        var kinds = new HashSet<string>();
        for (int i = 0; i < items.Count; i++)
        {
            var task = items[i].Task;
            var record = await DemoRepairData.RecordAsync(items, i, 0, executor, CancellationToken.None);
            if (record is null) continue;
            kinds.Add((string)record["wrong"]!);
            var prompt = (string)record["prompt"]!;
            // turn 1, the gold program (the reference: persd.gold = reference), turn 2 — joined as the served teacher's folder (no chat_template) joins them
            var head = PersdPrompts.TeacherGoldPrompt(task) + "\n" + task.Reference + "\n";
            Assert.StartsWith(head, prompt);
            int code = prompt.IndexOf("INCORRECT CODE:\n", StringComparison.Ordinal) + "INCORRECT CODE:\n".Length;
            int error = prompt.IndexOf("\n\nERROR:\n", StringComparison.Ordinal);
            var wrongProgram = prompt[code..error];
            var feedback = prompt[(error + "\n\nERROR:\n".Length)..prompt.IndexOf("\n\nInstructions for Code Rectification", StringComparison.Ordinal)];
            Assert.Equal(LocalModelChatClient.JoinedText(PersdPrompts.TeacherRefinement(task, task.Reference!, wrongProgram, feedback)), prompt);
            // the wrong program fails, and the ERROR is the feedback PERsD itself would give it
            var wrongBody = wrongProgram[(task.Header.Length + 1)..];
            var (status, realFeedback) = await PersonalizedDistillation.JudgeAsync(items[i], wrongBody, executor, CancellationToken.None);
            Assert.NotEqual("passed", status);
            Assert.Equal(realFeedback, feedback);
            // the completion, read as PERsD reads a teacher's answer, is a refinement that passes
            var completion = (string)record["completion"]!;
            var refinement = PersdPrompts.Body(task, PersdPrompts.TeacherCode(completion));
            Assert.Equal(completion, refinement);
            Assert.Equal("passed", (await PersonalizedDistillation.JudgeAsync(items[i], refinement, executor, CancellationToken.None)).Status);
        }
        Assert.Equal(["Empty", "OtherProblem", "ReturnsNone"], kinds.Order());
    }

    [Fact]
    public async Task WriteAsync_UsesTrainShardProblemsOnly_AndIsDeterministic()
    {
        var dir = Directory.CreateTempSubdirectory("distill-demo-repair-").FullName;
        try
        {
            var p = DemoPreset.Quick;
            var a = Path.Combine(dir, "a.jsonl");
            var b = Path.Combine(dir, "b.jsonl");
            int n = await DemoRepairData.WriteAsync(p, 3, a, CancellationToken.None);
            await DemoRepairData.WriteAsync(p, 3, b, CancellationToken.None);
            Assert.InRange(n, p.TeacherRepairProblems / 2, p.TeacherRepairProblems);
            Assert.Equal(File.ReadAllText(a), File.ReadAllText(b));
            var train = TaskGenerator.Generate(Shard.Train, p.TrainProblems, 3, p.MaxDifficulty).Select(x => x.TaskId).ToHashSet();
            var others = TaskGenerator.Generate(Shard.Distill, p.DistillProblems, 3, p.MaxDifficulty).Concat(TaskGenerator.Generate(Shard.Test, p.TestProblems, 3, p.MaxDifficulty)).ToList();
            var records = File.ReadAllLines(a).Select(l => JsonNode.Parse(l)!).ToList();
            Assert.Equal(n, records.Count);
            Assert.All(records, r => Assert.Contains((string)r["task_id"]!, train));
            // no distill- or test-shard problem's reference reaches the teacher's training
            Assert.All(records, r => Assert.DoesNotContain(others, o => ((string)r["prompt"]!).Contains(o.Prompt, StringComparison.Ordinal)));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void DemoRecipes_PersdUsesTheGenViewPrompt_AndOnlyTheTeacherLearnsRepair()
    {
        var root = Directory.CreateTempSubdirectory("distill-demo-recipes-").FullName;
        try
        {
            var paths = new DemoPaths(root);
            Directory.CreateDirectory(paths.DataDir);
            var config = Distill.Models.Formats.ConfigJson.ToJson(Distill.Models.ModelPresets.Get("tiny")).ToJsonString();
            File.WriteAllText(paths.StudentConfig, config);
            File.WriteAllText(paths.TeacherConfig, config);
            Check(paths);
        }
        finally { Directory.Delete(root, recursive: true); }
    }

    static void Check(DemoPaths paths)
    {
        foreach (var m in DemoMethods.All.Where(m => m.RecipeMethod == "persd"))
        {
            var r = Recipe.Parse(DemoMethods.Recipe(m, DemoPreset.Standard, 0, paths, "openai:demo-teacher@http://127.0.0.1:1/v1"), "r.yaml");
            Assert.Equal("dataset", r.String("persd.prompt_format"));
            // the standard teacher never learnt the repair conversation: it is asked each failed task's gen-view prompt alone
            Assert.Equal("solve", r.String("persd.teacher_mode"));
            Assert.Equal(TeacherMode.Solve, PersdRun.Options(r).Mode);
            // a teacher that learnt it is asked the authors' conversation, with the task's reference as its CORRECT CODE
            var repair = Recipe.Parse(DemoMethods.Recipe(m, DemoPreset.Standard with { PersdTeacherMode = "repair", TeacherRepairProblems = 800 }, 0, paths, "openai:demo-teacher@http://127.0.0.1:1/v1"), "r.yaml");
            Assert.Equal("repair", repair.String("persd.teacher_mode"));
            Assert.Equal("reference", repair.String("persd.gold"));
        }
        Assert.Equal("solve", DemoPreset.Quick.PersdTeacherMode);
        // a preset with repair conversations (the quick one; standard has none: they cost its teacher its gap, docs/demo.md)
        var withRepair = DemoPreset.Standard with { TeacherRepairProblems = 800 };
        var base_ = Recipe.Parse(DemoMethods.BaseRecipe(withRepair, 0, paths), "base.yaml");
        Assert.Equal(paths.TeacherRepairData, base_.String("teacher.init_data"));
        Assert.Equal(withRepair.TeacherMaxSeqLen, base_.Int("teacher.init_max_seq_len"));
        Assert.Equal(paths.TrainData, base_.String("data.source")); // the student's data: the gen and sum views only
        var none = Recipe.Parse(DemoMethods.BaseRecipe(DemoPreset.Standard with { TeacherRepairProblems = 0 }, 0, paths), "base.yaml");
        Assert.Equal("", none.String("teacher.init_data"));
    }
}
