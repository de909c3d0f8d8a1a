using System.Diagnostics;
using System.Runtime.Intrinsics.X86;
using Distill.Cli;

namespace Distill.Bench.Cli.Commands;

/// <summary>
/// How the benchmarks start their PyTorch peer: Debian's /usr/bin/python3 with python3-torch, configured as PyTorch's
/// own CPU performance-tuning guide says, so the comparison is with the strongest PyTorch that runs here:
/// <list type="bullet">
/// <item>OpenBLAS-OpenMP (libopenblas0-openmp) instead of torch's default libblas.so.3, which is the netlib reference
/// BLAS, tens of times slower; OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE removed so OpenBLAS picks its own kernels;</item>
/// <item>tcmalloc (libtcmalloc-minimal4) preloaded: under glibc's malloc every large tensor is a fresh mmap whose pages
/// fault in and are zeroed by the kernel, and freed at once (measured 2026-12-03 on the Zen 5: 50 s of the 143 s CPU of
/// an SFT + DPO run in the kernel; the SFT step 5.4–11.3 s → 2.8–3.1 s, the DPO step 4.2 → 2.3 s). jemalloc was
/// slower than glibc there (13.5 s per SFT step) and is not used;</item>
/// <item>ATEN_CPU_CAPABILITY=avx512 when the CPU has AVX-512F: torch 1.13 dispatches its own (non-BLAS) kernels to
/// AVX2 by default even where AVX-512 exists (SFT step 5.9 → 5.4 s under glibc malloc, 2.9–3.3 → 2.8–3.1 s under
/// tcmalloc).</item>
/// </list>
/// Figures and the measurements behind these choices: docs/performance.md ("The PyTorch peer: tcmalloc and AVX-512 dispatch").
/// </summary>
static class TorchPeer
{
    /// <summary>Debian's libopenblas0-openmp; without it torch falls back to the reference BLAS (netlib).</summary>
    public const string OpenBlasDir = "/usr/lib/x86_64-linux-gnu/openblas-openmp";

    /// <summary>Debian's libtcmalloc-minimal4.</summary>
    public const string Tcmalloc = "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4";

    /// <summary>Refuses to run a weakened peer: without OpenBLAS-OpenMP or tcmalloc the figures would flatter Distill.</summary>
    public static void Require(string verb)
    {
        if (!File.Exists(Path.Combine(OpenBlasDir, "libblas.so.3")))
            throw new BadInputException($"{OpenBlasDir} is missing: PyTorch would run on the reference BLAS, tens of times slower than OpenBLAS. " +
                $"Install it (apt-get install libopenblas0-openmp) or pass --no-torch to distill bench {verb}");
        if (!File.Exists(Tcmalloc))
            throw new BadInputException($"{Tcmalloc} is missing: PyTorch under glibc's malloc spends a third of its CPU faulting in fresh pages. " +
                $"Install it (apt-get install libtcmalloc-minimal4) or pass --no-torch to distill bench {verb}");
    }

    /// <summary>A start record for /usr/bin/python3 running <paramref name="args"/> as the strongest peer (after <see cref="Require"/>).</summary>
    public static ProcessStartInfo Python(IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment.Remove("OPENBLAS_CORETYPE");
        psi.Environment.Remove("OPENBLAS_L2_SIZE");
        psi.Environment["LD_LIBRARY_PATH"] = OpenBlasDir;
        psi.Environment["LD_PRELOAD"] = Tcmalloc;
        if (Avx512F.IsSupported && !psi.Environment.ContainsKey("ATEN_CPU_CAPABILITY")) psi.Environment["ATEN_CPU_CAPABILITY"] = "avx512";
        return psi;
    }

    /// <summary>One line naming the peer's configuration, for the benchmark's output.</summary>
    public static string Describe(ProcessStartInfo psi) =>
        $"PyTorch peer: LD_LIBRARY_PATH={psi.Environment["LD_LIBRARY_PATH"]}, LD_PRELOAD={psi.Environment["LD_PRELOAD"]}, " +
        $"ATEN_CPU_CAPABILITY={(psi.Environment.TryGetValue("ATEN_CPU_CAPABILITY", out var c) ? c : "default")}";
}
