namespace Distill.Data.BuiltInTask;

/// <summary>
/// SplitMix64 (Steele, Lea, Flood 2014; the seeding generator of java.util.SplittableRandom): a tiny
/// generator written out here so the problems a seed yields never depend on the runtime's
/// System.Random implementation.
/// </summary>
public sealed class SplitMix64(ulong seed)
{
    ulong _state = seed;

    public ulong Next()
    {
        ulong z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, n) (the modulo bias is below 2⁻⁵⁰ for the n used here).</summary>
    public int Below(int n) => n <= 0 ? throw new ArgumentOutOfRangeException(nameof(n)) : (int)(Next() % (ulong)n);

    /// <summary>Uniform in [lo, hi].</summary>
    public int Between(int lo, int hi) => lo + Below(hi - lo + 1);

    public T Pick<T>(IReadOnlyList<T> items) => items[Below(items.Count)];

    /// <summary>A generator seeded from the first 8 bytes of a hex digest.</summary>
    public static SplitMix64 FromHex(string hex) => new(Convert.ToUInt64(hex[..16], 16));
}
