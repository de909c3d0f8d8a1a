using Distill.Training.Data;

namespace Distill.Training.Tests.Trainer;

public class CollatorTests
{
    [Fact]
    public void Pads_right_masks_keys_and_labels_only_completion_tokens_shifted_by_one()
    {
        var b = Collator.Collate([([5, 6], [7, 8, 9]), ([1, 2, 3], [4])], maxLength: 16, padId: 0);
        Assert.Equal((2, 5), (b.Rows, b.T));
        Assert.Equal(new[] { 5, 6, 7, 8, 9, 1, 2, 3, 4, 0 }, b.Ids);
        //            positions: 0     1  2  3     4 | 0     1     2  3     4
        Assert.Equal(new[] { -100, 7, 8, 9, -100, -100, -100, 4, -100, -100 }, b.Labels);
        Assert.Equal(new[] { 5, 4 }, b.Lengths);
        Assert.Equal(4, b.LabelCount);
        Assert.Equal(9, b.TokenCount);
        Assert.All(b.KeyMask.AsSpan(0, 9).ToArray(), m => Assert.Equal(0f, m));
        Assert.Equal(float.NegativeInfinity, b.KeyMask[9]);
    }

    [Fact]
    public void Truncation_keeps_the_prompt_end_and_the_completion_start()
    {
        // prompt 6 + completion 6 into 8: the completion keeps max(8 − 6, 8/2) = 4, the prompt its last 4
        var b = Collator.Collate([([1, 2, 3, 4, 5, 6], [11, 12, 13, 14, 15, 16])], maxLength: 8);
        Assert.Equal(new[] { 3, 4, 5, 6, 11, 12, 13, 14 }, b.Ids);
        Assert.Equal(new[] { -100, -100, -100, 11, 12, 13, 14, -100 }, b.Labels);
        // a short completion is kept whole; a long prompt keeps at least one token
        Assert.Equal((6, 2), Collator.Fit(10, 2, 8));
        Assert.Equal((1, 7), Collator.Fit(1, 30, 8));
    }

    [Fact]
    public void Pairs_put_chosen_rows_first_then_rejected_and_need_a_rejected_answer()
    {
        var ex = new List<TrainingExample> { new([1, 2], [3]) { Rejected = [4, 5] }, new([6], [7, 8]) { Rejected = [9] } };
        var b = Collator.Pairs(ex, 16);
        Assert.Equal(4, b.Rows);
        Assert.Equal(new[] { 3, 7, 8, 4, 5, 9 }, b.Labels.Where(l => l != -100));
        var err = Assert.Throws<ArgumentException>(() => Collator.Pairs([new TrainingExample([1], [2])], 16));
        Assert.Contains("no rejected answer", err.Message);
        Assert.Contains("empty prompt", Assert.Throws<ArgumentException>(() => Collator.Collate([([], [1])], 8)).Message);
    }

    [Fact]
    public void Padding_never_changes_the_logits_of_real_positions()
    {
        using var model = TinySetup.Model(3);
        var shortRow = Collator.Collate([([1, 2, 3], [4, 5])], 32);
        var padded = Collator.Collate([([1, 2, 3], [4, 5]), ([7, 8, 9, 10, 11, 12], [13, 14, 15, 16])], 32);
        using var tape = new Distill.Tensors.Autograd.Tape { NoGrad = true };
        var a = model.Forward(tape, shortRow.Ids, 1).Span.ToArray();
        using var mask = padded.KeyMaskTensor();
        var b = model.Forward(tape, padded.Ids, 2, mask).Span[..a.Length].ToArray();
        for (int i = 0; i < a.Length; i++) Assert.Equal(a[i], b[i], 4);
    }

    [Fact]
    public void Batch_plan_is_a_function_of_seed_and_epoch_and_covers_every_example_once()
    {
        var data = TinySetup.Completions(23, 1);
        foreach (bool bucket in new[] { false, true })
        {
            var e0 = BatchPlan.Epoch(data, 4, 7, 0, true, bucket);
            Assert.Equal(e0, BatchPlan.Epoch(data, 4, 7, 0, true, bucket));
            Assert.NotEqual(e0.SelectMany(x => x), BatchPlan.Epoch(data, 4, 7, 1, true, bucket).SelectMany(x => x));
            Assert.Equal(Enumerable.Range(0, 23), e0.SelectMany(x => x).Order());
            Assert.Equal(6, e0.Length);
        }
        // bucketing: within the one window, rows of a batch are neighbours in length order
        var sorted = BatchPlan.Epoch(data, 4, 7, 0, shuffle: false, bucketByLength: true);
        var lengths = sorted.SelectMany(b => b).Select(i => data[i].Length).ToArray();
        Assert.Equal(lengths.Order(), lengths);
    }
}
