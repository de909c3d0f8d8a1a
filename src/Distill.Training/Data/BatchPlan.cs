using Distill.Tensors;

namespace Distill.Training.Data;

/// <summary>
/// The order in which an epoch visits the dataset, as a list of micro-batches of example indices. It is a pure
/// function of (seed, epoch), so a resumed run recomputes exactly the batches it would have seen: the data-loader
/// position in a checkpoint is just (epoch, micro-batch index).
/// Shuffling: Fisher–Yates with an Rng seeded from (seed, epoch). Length bucketing (optional): the shuffled order is
/// cut into windows of 50 micro-batches, each window sorted by length (ties by index), cut into micro-batches, and
/// the micro-batches of the whole epoch shuffled again — rows of a batch have similar lengths (less padding) while
/// batch order stays random, as transformers' group_by_length does with its mega-batches.
/// </summary>
public static class BatchPlan
{
    public const int BucketWindow = 50;

    public static int[][] Epoch(IReadOnlyList<TrainingExample> data, int batchSize, ulong seed, int epoch, bool shuffle, bool bucketByLength)
    {
        if (data.Count == 0) throw new ArgumentException("BatchPlan: the dataset is empty");
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), $"batch size {batchSize} < 1");
        var order = Enumerable.Range(0, data.Count).ToArray();
        var rng = new Rng(seed * 0x9E3779B97F4A7C15UL + (ulong)epoch + 1);
        if (shuffle) Shuffle(order, rng);
        if (bucketByLength)
        {
            int window = batchSize * BucketWindow;
            for (int s = 0; s < order.Length; s += window)
            {
                int len = Math.Min(window, order.Length - s);
                var seg = order.AsSpan(s, len).ToArray();
                Array.Sort(seg, (a, b) => data[a].Length != data[b].Length ? data[a].Length.CompareTo(data[b].Length) : a.CompareTo(b));
                seg.CopyTo(order, s);
            }
        }
        var batches = order.Chunk(batchSize).ToArray();
        if (bucketByLength && shuffle) Shuffle(batches, rng);
        return batches;
    }

    static void Shuffle<T>(T[] a, Rng rng)
    {
        for (int i = a.Length - 1; i > 0; i--)
        {
            int j = rng.NextInt(i + 1);
            (a[i], a[j]) = (a[j], a[i]);
        }
    }
}
