namespace Distill.Text;

/// <summary>
/// A piece of text as code points, each carrying the range of original code points it came from —
/// the C# counterpart of the Rust <c>NormalizedString</c>. Offsets are in Unicode scalar values
/// (what the Hugging Face Node binding reports), not UTF-16 units or bytes.
/// Worked example: Prepend "▁" on "hi" at original offset 3 gives cps "▁hi" aligned
/// [(3,4),(3,4),(4,5)]: an inserted code point borrows the alignment of its neighbour, as in Rust.
/// </summary>
public sealed class NormalizedText
{
    public int[] Cps;        // (Length) code points
    public int[] AlignStart; // (Length) original start of each code point
    public int[] AlignEnd;   // (Length) original end (exclusive)
    public int Length;

    public NormalizedText(int[] cps, int[] alignStart, int[] alignEnd, int length)
    {
        Cps = cps; AlignStart = alignStart; AlignEnd = alignEnd; Length = length;
    }

    /// <summary>Identity alignment over original[start..end).</summary>
    public static NormalizedText FromOriginal(int[] original, int start, int end)
    {
        int n = end - start;
        var cps = new int[n]; var s = new int[n]; var e = new int[n];
        for (int i = 0; i < n; i++) { cps[i] = original[start + i]; s[i] = start + i; e[i] = start + i + 1; }
        return new NormalizedText(cps, s, e, n);
    }

    public NormalizedText Slice(int start, int end)
    {
        int n = end - start;
        return new NormalizedText(Cps.AsSpan(start, n).ToArray(), AlignStart.AsSpan(start, n).ToArray(), AlignEnd.AsSpan(start, n).ToArray(), n);
    }

    /// <summary>Original (start, end) of the normalized range [start, end); an empty range maps to the point before it.</summary>
    public (int Start, int End) Original(int start, int end)
    {
        if (Length == 0) return (0, 0);
        if (end <= start) { int p = start < Length ? AlignStart[start] : AlignEnd[Length - 1]; return (p, p); }
        return (AlignStart[start], AlignEnd[end - 1]);
    }

    public override string ToString() => CodePoints.ToUtf16(Cps.AsSpan(0, Length));

    /// <summary>Replaces the content by (cp, source index) pairs: each new code point takes the alignment of its source.</summary>
    public void Rebuild(List<(int Cp, int Source)> items)
    {
        int n = items.Count;
        var cps = new int[n]; var s = new int[n]; var e = new int[n];
        for (int i = 0; i < n; i++)
        {
            var (cp, src) = items[i];
            cps[i] = cp;
            if (Length == 0) { s[i] = 0; e[i] = 0; }
            else { int k = Math.Clamp(src, 0, Length - 1); s[i] = AlignStart[k]; e[i] = AlignEnd[k]; }
        }
        Cps = cps; AlignStart = s; AlignEnd = e; Length = n;
    }

    /// <summary>Prepends <paramref name="prefix"/>; its code points are aligned to the first code point (Rust <c>prepend</c>).</summary>
    public void Prepend(string prefix)
    {
        var items = new List<(int, int)>(Length + prefix.Length);
        foreach (var cp in CodePoints.From(prefix)) items.Add((cp, 0));
        for (int i = 0; i < Length; i++) items.Add((Cps[i], i));
        Rebuild(items);
    }
}
