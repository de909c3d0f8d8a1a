using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace Distill.Bench;

/// <summary>What a benchmark figure was measured on: CPU, cores, SIMD, runtime; and the process's peak memory.</summary>
public static class Machine
{
    /// <summary>One line, e.g. "AMD EPYC, 2 cores, avx2 fma avx512f, .NET 10.0.0, linux-x64".</summary>
    public static string Describe()
    {
        var simd = new List<string>();
        if (Avx2.IsSupported) simd.Add("avx2");
        if (Fma.IsSupported) simd.Add("fma");
        if (Avx512F.IsSupported) simd.Add("avx512f");
        if (simd.Count == 0) simd.Add("no-x86-simd");
        return $"{CpuModel()}, {Environment.ProcessorCount} cores, {string.Join(' ', simd)}, {RuntimeInformation.FrameworkDescription}, {RuntimeInformation.RuntimeIdentifier}";
    }

    static string CpuModel()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/cpuinfo"))
                if (line.StartsWith("model name", StringComparison.Ordinal))
                    return line[(line.IndexOf(':') + 1)..].Trim();
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return RuntimeInformation.ProcessArchitecture.ToString();
    }

    /// <summary>Peak resident set size of this process in MiB (VmHWM of /proc/self/status), or NaN where unavailable.</summary>
    public static double PeakRssMb()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                {
                    var kb = line["VmHWM:".Length..].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries)[0];
                    return long.Parse(kb, System.Globalization.CultureInfo.InvariantCulture) / 1024.0;
                }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return double.NaN;
    }
}
