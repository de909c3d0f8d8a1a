using Distill.Models.Lora;
using Distill.Tensors;
using Distill.Tensors.Autograd;
using Distill.Tensors.Autograd.Ops;
using Distill.Tensors.Autograd.Ops.Losses;
using Distill.Training.Data;

namespace Distill.Training.Tests.Trainer;

/// <summary>The head on the labelled rows only (LossRows + CausalLM.Forward(outputRows)) changes no loss and no gradient.</summary>
public class LossRowsTests
{
    const int I = Collator.IgnoreIndex;

    [Fact]
    public void Kept_lists_the_labelled_rows_and_PerSequence_pads_each_sequence_to_the_longest()
    {
        int[] labels = [I, 5, 6, I, /* */ I, I, 7, I, /* */ I, I, I, I];
        var (rows, kept) = LossRows.Kept(labels)!.Value;
        Assert.Equal([1, 2, 6], rows);
        Assert.Equal([5, 6, 7], kept);
        var (prow, plab) = LossRows.PerSequence(labels, 3)!.Value;
        Assert.Equal([1, 2, /* */ 6, 4, /* */ 8, 8], prow);
        Assert.Equal([5, 6, /* */ 7, I, /* */ I, I], plab);
        Assert.Null(LossRows.Kept([I, I]));
        Assert.Null(LossRows.PerSequence([I, I], 2));
        Assert.Throws<ArgumentException>(() => LossRows.PerSequence([I, I, I], 2));
    }

    [Fact]
    public void Selected_rows_give_the_full_forwards_logits_loss_and_adapter_gradients()
    {
        var data = TinySetup.Completions(3, 21);
        var batch = Collator.Completions(data, 32, 0);
        using var model = TinySetup.LoraModelWithNonZeroB(22, TinySetup.Lora());
        using var mask = batch.KeyMaskTensor();
        var branches = LoraModel.Branches(model).ToList();
        float[] Grads() => branches.SelectMany(b => b.A.Grad!.Span.ToArray().Concat(b.B.Grad!.Span.ToArray())).ToArray();
        void Zero() { foreach (var b in branches) { b.A.ZeroGrad(); b.B.ZeroGrad(); } }

        // full: every row through the head, the loss ignores unlabelled rows
        Zero();
        using var full = new Tape();
        var logits = model.Forward(full, batch.Ids, batch.Rows, mask);
        var fullLogits = logits.Span.ToArray();
        var lossFull = CrossEntropy.Forward(full, logits, batch.Labels);
        float valueFull = lossFull[0];
        full.Backward(lossFull);
        var gradFull = Grads();

        Zero();
        var (rows, labels) = LossRows.Kept(batch.Labels)!.Value;
        using var part = new Tape();
        var some = model.Forward(part, batch.Ids, batch.Rows, mask, rows);
        Assert.Equal(rows.Length, some.Rows);
        int v = some.Cols;
        for (int i = 0; i < rows.Length; i++)
            Assert.Equal(fullLogits.AsSpan(rows[i] * v, v).ToArray(), some.Span.Slice(i * v, v).ToArray());
        var lossPart = CrossEntropy.Forward(part, some, labels);
        Assert.Equal(valueFull, lossPart[0]);
        part.Backward(lossPart);
        var gradPart = Grads();
        Assert.Contains(gradFull, g => g != 0);
        for (int i = 0; i < gradFull.Length; i++) Assert.Equal(gradFull[i], gradPart[i], 1e-5f * (1 + Math.Abs(gradFull[i])));
    }

    [Fact]
    public void Per_sequence_rows_give_the_full_sequence_log_probs()
    {
        var data = TinySetup.Pairs(3, 23);
        var batch = Collator.Pairs(data, 32, 0);
        using var model = TinySetup.LoraModelWithNonZeroB(24, TinySetup.Lora());
        using var mask = batch.KeyMaskTensor();
        using var tape = new Tape { NoGrad = true };
        var full = SequenceLogProb.Forward(tape, model.Forward(tape, batch.Ids, batch.Rows, mask), batch.Labels, batch.Rows).Span.ToArray();
        var (rows, labels) = LossRows.PerSequence(batch.Labels, batch.Rows)!.Value;
        var part = SequenceLogProb.Forward(tape, model.Forward(tape, batch.Ids, batch.Rows, mask, rows), labels, batch.Rows).Span.ToArray();
        Assert.Equal(full.Length, part.Length);
        for (int i = 0; i < full.Length; i++) Assert.Equal(full[i], part[i], 1e-4f * (1 + Math.Abs(full[i])));
    }
}
