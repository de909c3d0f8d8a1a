using Distill.Tensors.Autograd;
using Distill.Tensors.Autograd.Ops;
using Distill.Tensors.Autograd.Ops.Losses;
using Distill.Tensors.Kernels.Losses;
using Distill.Tensors.Tests.Autograd;

namespace Distill.Tensors.Tests.Losses;

/// <summary>
/// The loss ops through the tape, by central differences (engine-ops' GradCheck: float32, h = 1e-2,
/// tolerance justified there). The kernels themselves are checked in double in the other files of
/// this folder; this checks the wiring (slots, saved state, seeding, accumulation). Every op in the
/// Losses namespace must have an entry in <see cref="Checks"/>.
/// </summary>
public class LossOpGradientTests
{
    public static readonly Dictionary<string, Action> Checks = new()
    {
        ["SequenceLogProb"] = () =>
        {
            var rng = new Rng(31);
            var logits = GradCheck.Input(rng, 2 * 4, 9);   // B = 2, T = 4, V = 9
            int[] targets = [-100, 3, 8, 0, 1, 1, 2, -100];
            GradCheck.Check("SequenceLogProb(sum)", t => SequenceLogProb.Forward(t, logits, targets, 2), [logits], maxCoords: 72);
            GradCheck.Check("SequenceLogProb(mean)", t => SequenceLogProb.Forward(t, logits, targets, 2, lengthNormalized: true), [logits], maxCoords: 72);
            // a chain: logits from a Linear, so the loss op's gradient flows on through the tape
            Tensor x = GradCheck.Input(rng, 8, 5), w = GradCheck.Input(rng, 9, 5);
            GradCheck.Check("Linear→SequenceLogProb", t => SequenceLogProb.Forward(t, Linear.Forward(t, x, w), targets, 2), [x, w]);
        },
        ["TokenDivergence"] = () =>
        {
            var rng = new Rng(32);
            foreach (var kind in Enum.GetValues<DivergenceKind>())
            {
                var teacher = GradCheck.Input(rng, 4, 11);
                var student = GradCheck.Input(rng, 4, 11);
                int[] labels = [1, -100, 4, 0];
                // TVD has a kink wherever p_k = q_k; float32 FD with h = 1e-2 moves q by ~1%, so keep
                // every p_k/q_k well away from 1: teacher = student ± 1.5 alternately (the double-precision
                // kernel test covers TVD on unconstrained random inputs)
                if (kind == DivergenceKind.Tvd)
                    for (int i = 0; i < teacher.Length; i++) teacher[i] = student[i] + (i % 2 == 0 ? 1.5f : -1.5f);
                var o = new DivergenceOptions(kind, Temperature: 1.5f, Beta: 0.3f, Alpha: 0.1f);
                teacher.Grad!.Span.Fill(7f);
                GradCheck.Check($"TokenDivergence({kind})", t => TokenDivergence.Forward(t, teacher, student, labels, o), [student], maxCoords: 44);
                Assert.All(teacher.Grad.Span.ToArray(), g => Assert.Equal(7f, g));   // the teacher is a constant
                if (kind == DivergenceKind.Tvd) continue;   // the kink: a Linear's logits are not kept away from p = q
                // the training step's form: the student logits from a Linear, their gradient written over them in place
                Tensor x = GradCheck.Input(rng, 4, 5), w = GradCheck.Input(rng, 11, 5);
                GradCheck.Check($"Linear→TokenDivergence({kind}, in place)",
                    t => TokenDivergence.Forward(t, teacher, Linear.Forward(t, x, w), labels, o, overwriteStudent: true), [x, w], maxCoords: 44);
            }
        },
        ["LogSigmoid"] = () =>
        {
            var x = GradCheck.Input(new Rng(33), 3, 4);
            GradCheck.Check("LogSigmoid", t => LogSigmoid.Forward(t, x), [x]);
        },
        ["Hinge"] = () =>
        {
            var x = GradCheck.Input(new Rng(34), 3, 4);
            // keep every input ≥ 0.05 from the kink, 5× the FD step, so ±h never crosses it
            for (int i = 0; i < x.Length; i++) if (MathF.Abs(x[i]) < 0.05f) x[i] = x[i] < 0 ? -0.05f - x[i] : 0.05f + x[i];
            GradCheck.Check("Hinge", t => Hinge.Forward(t, x), [x]);
        },
        ["Square"] = () =>
        {
            var x = GradCheck.Input(new Rng(35), 3, 4);
            GradCheck.Check("Square", t => Square.Forward(t, x), [x]);
        },
        ["Softmax"] = () =>
        {
            var x = GradCheck.Input(new Rng(36), 3, 10);
            GradCheck.Check("Softmax(τ=2)", t => Softmax.Forward(t, x, 2f), [x]);
        },
        ["LogSoftmax"] = () =>
        {
            var x = GradCheck.Input(new Rng(37), 3, 10);
            GradCheck.Check("LogSoftmax(τ=0.5)", t => LogSoftmax.Forward(t, x, 0.5f), [x]);
        },
    };

    static IEnumerable<string> LossOps() => typeof(Op).Assembly.GetTypes()
        .Where(t => t.IsSubclassOf(typeof(Op)) && !t.IsAbstract && t.Namespace == typeof(SequenceLogProb).Namespace)
        .Select(t => t.Name);

    public static TheoryData<string> OpNames() => new(LossOps().Order(StringComparer.Ordinal));

    [Fact]
    public void EveryLossOpHasAGradientCheck()
    {
        var missing = LossOps().Where(n => !Checks.ContainsKey(n)).ToList();
        Assert.True(missing.Count == 0, "loss ops without a gradient check: " + string.Join(", ", missing));
        Assert.Equal(7, LossOps().Count());
    }

    [Theory]
    [MemberData(nameof(OpNames))]
    public void GradientMatchesFiniteDifferences(string op) => Checks[op]();

    [Fact]
    public void DpoThroughTheTapeSeedsSequenceLogProb()
    {
        // the TRL pipeline: chosen and rejected as one concatenated batch → logps (2B) → a pure loss
        // → its d/dlogps seeds the tape. Here the loss is Σ w·logp, so d/dlogits must equal the
        // kernel's backward with dSum = w.
        var rng = new Rng(38);
        var logits = GradCheck.Input(rng, 4 * 3, 6);   // 2 pairs → B = 4 sequences, T = 3, V = 6
        int[] targets = [-100, 1, 2, -100, 5, 0, 3, 3, -100, 4, 4, 4];
        float[] w = [0.3f, -0.3f, 1.2f, -1.2f];
        using var tape = new Tape();
        var logp = SequenceLogProb.Forward(tape, logits, targets, 4);
        logits.Grad!.Span.Clear();
        tape.Backward(logp, w);
        var lse = new float[12];
        SequenceLogProbKernels.SequenceLogProbForward(logits.Span, 4, 6, targets, -100, new float[12], lse, new float[4], new float[4]);
        var expected = new float[logits.Length];
        SequenceLogProbKernels.SequenceLogProbBackward(logits.Span, 4, 6, targets, -100, lse, w, default, expected);
        Assert.Equal(expected, logits.Grad.Span.ToArray());
    }

    [Fact]
    public void DifferentVocabulariesAreAClearError()
    {
        using var tape = new Tape();
        var rng = new Rng(39);
        Tensor teacher = GradCheck.Input(rng, 2, 12), student = GradCheck.Input(rng, 2, 10);
        var e = Assert.Throws<ArgumentException>(() => TokenDivergence.Forward(tape, teacher, student, null, new DivergenceOptions(DivergenceKind.ForwardKl)));
        Assert.Contains("teacher logits have 12 columns, student logits 10", e.Message);
    }
}
