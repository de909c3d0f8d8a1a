namespace Distill.Chat.Accounting;

/// <summary>Dollars per one million tokens, input and output.</summary>
public readonly record struct Price(decimal InputPerMillion, decimal OutputPerMillion);

/// <summary>
/// Per-model prices for cost reports. The defaults are list prices noted when this table was
/// written and are only a convenience: recipes override them (<see cref="With"/>), and a model
/// missing from the table is reported with its tokens and an unknown cost, never a guessed one.
/// </summary>
public sealed class PriceTable
{
    readonly Dictionary<string, Price> _prices;

    public static PriceTable Default { get; } = new(new Dictionary<string, Price>(StringComparer.OrdinalIgnoreCase)
    {
        ["gpt-4o"] = new(2.50m, 10.00m),
        ["gpt-4o-mini"] = new(0.15m, 0.60m),
        ["gpt-4.1"] = new(2.00m, 8.00m),
        ["gpt-4.1-mini"] = new(0.40m, 1.60m),
        ["gpt-4-turbo"] = new(10.00m, 30.00m),
        ["gpt-3.5-turbo"] = new(0.50m, 1.50m),
        ["claude-3-5-sonnet-latest"] = new(3.00m, 15.00m),
        ["claude-3-5-haiku-latest"] = new(0.80m, 4.00m),
    });

    public PriceTable(IDictionary<string, Price> prices) => _prices = new(prices, StringComparer.OrdinalIgnoreCase);

    public PriceTable With(string model, Price price) => new(new Dictionary<string, Price>(_prices) { [model] = price });

    /// <summary>Cost in dollars, or null when the model has no price.</summary>
    public decimal? Cost(string model, long inputTokens, long outputTokens)
        => _prices.TryGetValue(model, out var p) ? (inputTokens * p.InputPerMillion + outputTokens * p.OutputPerMillion) / 1_000_000m : null;
}
