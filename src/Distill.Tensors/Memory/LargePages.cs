using System.Runtime.InteropServices;

namespace Distill.Tensors;

/// <summary>
/// Native allocations for tensors, in 2 MB pages when they are large. Linux backs memory with 4 KB pages unless a
/// range is marked MADV_HUGEPAGE (transparent huge pages in "madvise" mode, Debian's default): a 3 GB KV cache is
/// then 786,432 first-touch page faults (each a hypervisor exit on a paravirtualised VM) and its streaming reads miss
/// the TLB every 4 KB. A large block is aligned to 2 MB and marked before anything touches it, so the kernel faults
/// it in 2 MB pages (1/512 of the faults, and TLB entries that cover 512× more). Small blocks stay in malloc's 64-byte
/// aligned memory. Where THP is off or the OS is not Linux the advice is simply not given; the memory is the same.
/// </summary>
public static unsafe partial class LargePages
{
    /// <summary>Blocks from this size up are 2 MB aligned and advised (below it the alignment would waste up to half).</summary>
    public const long Threshold = 4L << 20;

    const nuint PageBytes = 2u << 20;
    const int MadvHugepage = 14; // <asm-generic/mman-common.h>

    static readonly bool Advise = OperatingSystem.IsLinux() && Environment.GetEnvironmentVariable("DISTILL_HUGEPAGES") != "0";

    /// <summary>Uninitialised memory for <paramref name="bytes"/> bytes, at least 64-byte aligned; free it with <see cref="Free"/>.</summary>
    public static void* Alloc(nuint bytes)
    {
        if (!Advise || bytes < Threshold) return NativeMemory.AlignedAlloc(bytes, 64);
        var p = NativeMemory.AlignedAlloc(bytes, PageBytes);
        // the advice covers whole 2 MB pages inside the block; the tail page (partly someone else's, or unmapped) is
        // left to the default, and a refusal (THP "never", an old kernel) changes nothing but speed
        nuint whole = bytes & ~(PageBytes - 1);
        if (whole > 0) _ = Madvise(p, whole, MadvHugepage);
        return p;
    }

    public static void Free(void* p) => NativeMemory.AlignedFree(p);

    [LibraryImport("libc", EntryPoint = "madvise")]
    private static partial int Madvise(void* addr, nuint length, int advice);
}
