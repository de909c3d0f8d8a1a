using System.Collections.Concurrent;

namespace Distill.Chat.Accounting;

/// <summary>Token and request counts per (stage, model), thread-safe; priced on demand.</summary>
public sealed class UsageLedger
{
    sealed class Counter { public long Requests, Input, Output; }

    readonly ConcurrentDictionary<(string Stage, string Model), Counter> _counters = new();

    public void Record(string stage, string model, long inputTokens, long outputTokens)
    {
        var c = _counters.GetOrAdd((stage, model), _ => new Counter());
        Interlocked.Increment(ref c.Requests);
        Interlocked.Add(ref c.Input, inputTokens);
        Interlocked.Add(ref c.Output, outputTokens);
    }

    public sealed record Row(string Stage, string Model, long Requests, long InputTokens, long OutputTokens, decimal? Dollars);

    /// <summary>One row per (stage, model), sorted; Dollars null where the price table lacks the model.</summary>
    public IReadOnlyList<Row> Report(PriceTable prices)
        => _counters.OrderBy(kv => kv.Key.Stage, StringComparer.Ordinal).ThenBy(kv => kv.Key.Model, StringComparer.Ordinal)
            .Select(kv => new Row(kv.Key.Stage, kv.Key.Model, kv.Value.Requests, kv.Value.Input, kv.Value.Output,
                prices.Cost(kv.Key.Model, kv.Value.Input, kv.Value.Output)))
            .ToList();
}
