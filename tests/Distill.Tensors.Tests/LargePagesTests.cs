using System.Globalization;

namespace Distill.Tensors.Tests;

/// <summary>Large tensors in 2 MB pages (<see cref="LargePages"/>): aligned, zero-filled, advised, and backed by huge pages.</summary>
public class LargePagesTests
{
    [Fact]
    public unsafe void LargeBlocksAre2MBAlignedAndZeroSmallOnes64()
    {
        using var small = Tensor.Create(1000);
        Assert.Equal(0, (long)small.Pointer % 64);
        using var large = Tensor.Create((int)(LargePages.Threshold / sizeof(float)) + 5);
        if (OperatingSystem.IsLinux()) Assert.Equal(0, (long)large.Pointer % (2 << 20));
        Assert.True(large.Span.IndexOfAnyExcept(0f) < 0, "a new tensor is zero-filled");
        large.Span[^1] = 1f; // the last float is writable (the block is not cut to whole pages)
    }

    /// <summary>
    /// The kernel's own account (/proc/self/smaps) of the mapping holding a new 64 MB tensor: eligible for transparent
    /// huge pages and, once zero-filled, backed by them. Where THP is switched off ("never") there is nothing to check.
    /// </summary>
    [Fact]
    public unsafe void LargeTensorsAreBackedByHugePages()
    {
        const string mode = "/sys/kernel/mm/transparent_hugepage/enabled";
        if (!OperatingSystem.IsLinux() || !File.Exists(mode) || File.ReadAllText(mode).Contains("[never]")) return;
        using var t = Tensor.Create(16 << 20);
        var (eligible, hugeKb) = Mapping((nuint)t.Pointer);
        Assert.True(eligible, "the mapping is THP-eligible (madvise MADV_HUGEPAGE)");
        Assert.True(hugeKb >= 2048, $"AnonHugePages {hugeKb} kB in the mapping of a 64 MB tensor");
    }

    /// <summary>THPeligible and AnonHugePages of the /proc/self/smaps entry whose range holds <paramref name="p"/>.</summary>
    static (bool Eligible, long HugeKb) Mapping(nuint p)
    {
        bool inside = false, eligible = false;
        long huge = -1;
        foreach (var line in File.ReadLines("/proc/self/smaps"))
        {
            int dash = line.IndexOf('-'), space = line.IndexOf(' ');
            if (dash > 0 && space > dash && ulong.TryParse(line.AsSpan(0, dash), NumberStyles.HexNumber, null, out ulong lo)
                && ulong.TryParse(line.AsSpan(dash + 1, space - dash - 1), NumberStyles.HexNumber, null, out ulong hi))
            {
                if (inside) break;
                inside = lo <= p && p < hi;
                continue;
            }
            if (!inside) continue;
            if (line.StartsWith("AnonHugePages:")) huge = long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);
            if (line.StartsWith("THPeligible:")) eligible = line.Trim().EndsWith('1');
        }
        return (eligible, huge);
    }
}
