using Distill.Models.Generation;
using Distill.Models.Lora;
using Distill.Tensors;
using Distill.Tensors.Autograd;
using Distill.Tensors.Kernels.Losses;
using Distill.Training.Data;
using Distill.Training.Objectives;
using TrainerLoop = Distill.Training.Trainer;

namespace Distill.Training.Tests.Trainer;

public class TrainerTests
{
    static TrainerOptions Options(int batch, int accum, int steps) => new()
    {
        BatchSize = batch, GradientAccumulation = accum, MaxSteps = steps, MaxLength = 32, LearningRate = 1e-2f, Shuffle = false,
        Schedule = Distill.Tensors.Optim.ScheduleKind.Constant, SaveSteps = 0, Lora = TinySetup.Lora(),
    };

    [Fact]
    public void Accumulation_2_x_batch_1_equals_batch_2_token_mean()
    {
        // Convention: the loss of an optimizer step is the mean over every completion token of the step, however
        // the step is split into micro-batches (each micro-batch is weighted by its share of the step's tokens).
        var data = TinySetup.Completions(8, 5);
        float[] Run(int batch, int accum, out List<double> losses)
        {
            using var model = TinySetup.Model(11);
            LoraModel.Apply(model, TinySetup.Lora(), 12);
            string dir = TinySetup.TempDir();
            new TrainerLoop(Options(batch, accum, 4), new SftObjective(), data, model, dir).Run();
            losses = TinySetup.Metrics(dir).Select(m => (double)m["loss"]!).ToList();
            Directory.Delete(dir, true);
            return LoraModel.Branches(model).SelectMany(b => b.A.Span.ToArray().Concat(b.B.Span.ToArray())).ToArray();
        }
        var w1 = Run(1, 2, out var l1);
        var w2 = Run(2, 1, out var l2);
        Assert.Equal(4, l1.Count);
        for (int i = 0; i < 4; i++) Assert.Equal(l2[i], l1[i], 4);
        double maxDiff = w1.Zip(w2, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(maxDiff < 2e-4, $"weights differ by {maxDiff}");
        Assert.True(w1.Zip(w2).Any(p => p.First != 0), "training moved nothing");
    }

    [Fact]
    public void Sft_loss_equals_the_mean_token_negative_log_likelihood()
    {
        var data = TinySetup.Completions(4, 6);
        using var model = TinySetup.Model(13);
        LoraModel.Apply(model, TinySetup.Lora(), 14);
        // reference before any update: −mean over all completion tokens of log p, in double (Scoring's own path)
        var lps = data.SelectMany(e => Scoring.CompletionLogProbs(model, e.Prompt, e.Completion)).ToArray();
        string dir = TinySetup.TempDir();
        new TrainerLoop(Options(2, 2, 1), new SftObjective(), data, model, dir).Run();
        Assert.Equal(-lps.Average(), (double)TinySetup.Metrics(dir)[0]["loss"]!, 4);
        Directory.Delete(dir, true);
    }

    [Fact]
    public void Token_kd_loss_matches_the_double_reference_and_is_zero_for_the_student_itself()
    {
        var data = TinySetup.Completions(2, 8);
        var div = new DivergenceOptions(DivergenceKind.Jsd, Temperature: 2f, Beta: 0.3f);
        using var teacher = TinySetup.Model(21);
        using var student = TinySetup.Model(22);
        LoraModel.Apply(student, TinySetup.Lora(), 23);
        var batch = Collator.Completions(data, 32);
        using var tape = new Tape { NoGrad = true };
        var t = teacher.Forward(tape, batch.Ids, batch.Rows).Span.ToArray();
        var s = student.Forward(tape, batch.Ids, batch.Rows).Span.ToArray();
        double expected = LossReference.MeanDivergence(div, t, s, 64, batch.Labels);
        string dir = TinySetup.TempDir();
        using var kd = new TokenKdObjective(teacher, div);
        new TrainerLoop(Options(2, 1, 1), kd, data, student, dir).Run();
        Assert.Equal(expected, (double)TinySetup.Metrics(dir)[0]["loss"]!, 4);
        Directory.Delete(dir, true);

        using var self = TinySetup.Model(22);
        using var kdSelf = new TokenKdObjective(self, new DivergenceOptions(DivergenceKind.ForwardKl));
        using var student2 = TinySetup.Model(22);
        LoraModel.Apply(student2, TinySetup.Lora(), 23);
        dir = TinySetup.TempDir();
        new TrainerLoop(Options(2, 1, 1), kdSelf, data, student2, dir).Run();
        Assert.Equal(0, (double)TinySetup.Metrics(dir)[0]["loss"]!, 5);
        Directory.Delete(dir, true);
    }

    [Fact]
    public void Token_kd_refuses_a_teacher_with_another_vocabulary()
    {
        using var teacher = TinySetup.Model(1, vocab: 80);
        using var student = TinySetup.Model(2);
        LoraModel.Apply(student, TinySetup.Lora(), 3);
        using var kd = new TokenKdObjective(teacher, new DivergenceOptions(DivergenceKind.ForwardKl));
        var e = Assert.Throws<ArgumentException>(() => new TrainerLoop(Options(1, 1, 1), kd, TinySetup.Completions(2, 1), student, TinySetup.TempDir()).Run());
        Assert.Contains("teacher logits have 80 columns, student logits 64", e.Message);
    }

    [Fact]
    public void On_policy_batches_train_on_student_samples()
    {
        var data = TinySetup.Completions(4, 9);
        using var teacher = TinySetup.Model(31);
        using var student = TinySetup.Model(32);
        LoraModel.Apply(student, TinySetup.Lora(), 33);
        using var kd = new TokenKdObjective(teacher, new DivergenceOptions(DivergenceKind.ReverseKl), new OnPolicyOptions(Lambda: 1, MaxNewTokens: 5));
        var ctx = new TrainingContext(student, data, 32, 0, TinySetup.TempDir());
        kd.Initialize(ctx);
        var mb = kd.Prepare([0, 1], ctx, new Rng(1));
        Assert.True(mb.OnPolicy);
        Assert.All(mb.Examples!, e => Assert.Equal(5, e.Completion.Length));
        Assert.Equal(10, mb.Units);
        Assert.Equal(data[0].Prompt, mb.Examples![0].Prompt);
    }

    [Theory]
    [InlineData(PreferenceLossKind.Dpo)]
    [InlineData(PreferenceLossKind.Ipo)]
    [InlineData(PreferenceLossKind.Hinge)]
    public void Preference_losses_at_the_reference_have_their_known_values(PreferenceLossKind kind)
    {
        // a fresh adapter (B = 0) is the reference itself: Δ = 0, so DPO = ln 2, IPO = (1/(2β))², hinge = 1
        var data = TinySetup.Pairs(4, 3);
        using var model = TinySetup.Model(41);
        LoraModel.Apply(model, TinySetup.Lora(), 42);
        string dir = TinySetup.TempDir();
        new TrainerLoop(Options(2, 2, 1), new PreferenceObjective(new PreferenceOptions(kind, Beta: 0.25f)), data, model, dir).Run();
        var m = TinySetup.Metrics(dir)[0];
        double expected = kind switch { PreferenceLossKind.Dpo => Math.Log(2), PreferenceLossKind.Ipo => 4.0, _ => 1.0 };
        Assert.Equal(expected, (double)m["loss"]!, 4);
        foreach (var key in new[] { "rewards/chosen", "rewards/rejected", "rewards/margins", "rewards/accuracies" })
            Assert.Equal(0, (double)m[key]!, 5);
        Assert.True((double)m["logps/chosen"]! < 0);
        Directory.Delete(dir, true);
    }

    [Fact]
    public void Cached_reference_equals_the_adapter_disabled_forward()
    {
        var data = TinySetup.Pairs(5, 4);
        using var model = TinySetup.LoraModelWithNonZeroB(51, TinySetup.Lora());
        string dir = TinySetup.TempDir();
        var objective = new PreferenceObjective(new PreferenceOptions(PreferenceLossKind.Dpo));
        new TrainerLoop(Options(2, 1, 2), objective, data, model, dir).Run();
        var reference = objective.Reference!;
        Assert.True(File.Exists(Path.Combine(dir, PreferenceObjective.ReferenceCacheFile)));
        LoraModel.SetEnabled(model, false);
        for (int i = 0; i < data.Count; i++)
        {
            var c = Scoring.CompletionLogProbs(model, data[i].Prompt, data[i].Completion);
            var r = Scoring.CompletionLogProbs(model, data[i].Prompt, data[i].Rejected!);
            Assert.Equal(c.Sum(), reference.ChosenSum[i], 3);
            Assert.Equal(r.Sum(), reference.RejectedSum[i], 3);
            Assert.Equal(r.Average(), reference.RejectedMean[i], 4);
        }
        LoraModel.SetEnabled(model, true);
        // and the adapter changes the policy: with it on, the same scores differ
        Assert.NotEqual(Scoring.CompletionLogProbs(model, data[0].Prompt, data[0].Completion).Sum(), reference.ChosenSum[0], 3);
        // a second objective over the same folder reads the cache (exact floats), without scoring again
        var again = SequenceScorer.Reference(model, data, 2, 32, 0, Path.Combine(dir, PreferenceObjective.ReferenceCacheFile));
        Assert.Equal(reference.ChosenSum, again.ChosenSum);
        Directory.Delete(dir, true);
    }

    [Fact]
    public void Reference_pass_reports_pairs_before_the_steps()
    {
        var data = TinySetup.Pairs(5, 4);
        using var model = TinySetup.LoraModelWithNonZeroB(52, TinySetup.Lora());
        string dir = TinySetup.TempDir();
        var events = new List<TrainingProgress>();
        new TrainerLoop(Options(2, 1, 2) with { Stage = "dpo-kd" }, new PreferenceObjective(new PreferenceOptions(PreferenceLossKind.Dpo)), data, model, dir)
            .Run(new Collect(events));
        // 5 pairs in batches of 2: 0, 2, 4, 5 pairs scored, then the stage's start (step 0) and its 2 steps
        var pairs = events.TakeWhile(e => e.Unit == "pairs").ToList();
        Assert.Equal([0, 2, 4, 5], pairs.Select(e => e.Step));
        Assert.All(pairs, e => { Assert.Equal(5, e.TotalSteps); Assert.Equal("dpo-kd reference log-probs", e.Stage); });
        Assert.Equal(TimeSpan.Zero, pairs[^1].Eta);
        Assert.Equal([0, 1, 2], events.Skip(pairs.Count).Select(e => e.Step));
        Assert.All(events.Skip(pairs.Count), e => Assert.Equal("steps", e.Unit));
        Directory.Delete(dir, true);
    }

    [Fact]
    public void Interrupted_reference_pass_resumes_from_its_journal_with_the_same_bits()
    {
        var data = TinySetup.Pairs(7, 4);
        using var model = TinySetup.LoraModelWithNonZeroB(53, TinySetup.Lora());
        string dir = TinySetup.TempDir(), cache = Path.Combine(dir, PreferenceObjective.ReferenceCacheFile);
        var whole = SequenceScorer.Reference(model, data, 2, 32, 0);
        // stopped after its second batch (4 of 7 pairs scored), as a kill would stop it
        var stop = new Collect([], e => { if (e.Step == 4) throw new OperationCanceledException("killed"); });
        Assert.Throws<OperationCanceledException>(() => SequenceScorer.Reference(model, data, 2, 32, 0, cache, progress: stop));
        Assert.False(File.Exists(cache));
        // plus a torn write at the end of the journal: only whole batches count
        File.AppendAllText(cache + ".partial", "a torn batch of 20 B");   // one whole record and 4 bytes of the next
        var events = new List<TrainingProgress>();
        var resumed = SequenceScorer.Reference(model, data, 2, 32, 0, cache, progress: new Collect(events));
        Assert.Equal([4, 6, 7], events.Select(e => e.Step));   // started at pair 4: two batches left
        Assert.Equal(whole.ChosenSum, resumed.ChosenSum);
        Assert.Equal(whole.RejectedSum, resumed.RejectedSum);
        Assert.Equal(whole.ChosenMean, resumed.ChosenMean);
        Assert.Equal(whole.RejectedMean, resumed.RejectedMean);
        Assert.True(File.Exists(cache));
        Assert.False(File.Exists(cache + ".partial"));
        // a journal for another batch size is not trusted: scored again from the first pair
        Assert.Throws<OperationCanceledException>(() => SequenceScorer.Reference(model, data, 2, 32, 0, cache + "2", progress: stop));
        events.Clear();
        var other = SequenceScorer.Reference(model, data, 3, 32, 0, cache + "2", progress: new Collect(events));
        Assert.Equal([0, 3, 6, 7], events.Select(e => e.Step));
        Directory.Delete(dir, true);
    }

    sealed class Collect(List<TrainingProgress> events, Action<TrainingProgress>? also = null) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value)
        {
            events.Add(value);
            also?.Invoke(value);
        }
    }

    /// <summary>SFT that poisons the loss or a gradient at one optimizer step.</summary>
    sealed class Poisoned(int step, bool gradient) : IObjective
    {
        readonly SftObjective _sft = new();
        int _calls;
        public string Name => "sft";
        public void Initialize(TrainingContext context) => _sft.Initialize(context);
        public MicroBatch Prepare(IReadOnlyList<int> indices, TrainingContext context, Rng rng) => _sft.Prepare(indices, context, rng);
        public ObjectiveOutput Step(Tape tape, MicroBatch batch, float weight, TrainingContext context)
        {
            var o = _sft.Step(tape, batch, weight, context);
            if (++_calls != step) return o;
            if (!gradient) return o with { Loss = float.NaN };
            LoraModel.Branches(context.Model).First().B.Grad!.Span[3] = float.PositiveInfinity;
            return o;
        }
    }

    [Theory]
    [InlineData(false, "the loss")]
    [InlineData(true, "the gradient norm")]
    public void A_non_finite_loss_or_gradient_stops_the_run_naming_the_step_and_keeps_the_last_good_checkpoint(bool gradient, string what)
    {
        using var model = TinySetup.Model(61);
        LoraModel.Apply(model, TinySetup.Lora(), 62);
        string dir = TinySetup.TempDir();
        var options = Options(1, 1, 10) with { SaveSteps = 2 };
        var e = Assert.Throws<TrainingDivergedException>(() => new TrainerLoop(options, new Poisoned(5, gradient), TinySetup.Completions(10, 1), model, dir).Run());
        Assert.Equal(5, e.Step);
        Assert.Contains($"step 5: {what} is not finite", e.Message);
        Assert.EndsWith("step-000004", e.LastCheckpoint);
        Assert.Contains("step-000004", e.Message);
        Assert.Equal([2, 4], TrainerCheckpoint.Complete(dir).Select(c => c.Step));
        Assert.Equal(4, TinySetup.Metrics(dir).Count);
        Directory.Delete(dir, true);
    }

    [Fact]
    public void A_second_run_into_the_same_folder_needs_resume()
    {
        var data = TinySetup.Completions(4, 1);
        using var model = TinySetup.Model(71);
        LoraModel.Apply(model, TinySetup.Lora(), 72);
        string dir = TinySetup.TempDir();
        new TrainerLoop(Options(2, 1, 1), new SftObjective(), data, model, dir).Run();
        var e = Assert.Throws<InvalidOperationException>(() => new TrainerLoop(Options(2, 1, 1), new SftObjective(), data, model, dir).Run());
        Assert.Contains("--resume", e.Message);
        Directory.Delete(dir, true);
    }
}
