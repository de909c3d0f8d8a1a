#!/usr/bin/env python3
"""Training step, Distill against PyTorch, interleaved: for each round and each config, one
`distill bench engine` run then one torch_baseline.py run, so drifting machine load hits both
alike. Prints a Markdown table of medians over rounds (each run's own figure is already a
median over --steps timed steps) and the ratio PyTorch/Distill.

    bench/scripts/engine_vs_torch.py [--rounds 3] [--steps 5] [--threads 2] [--configs a,b] [--openblas-coretype NAME]

PyTorch at its best: these machines export OPENBLAS_CORETYPE=Haswell and OPENBLAS_L2_SIZE=512, which force
OpenBLAS's AVX2 kernels onto a Zen 5 core whose AVX-512 runs at twice that FMA rate (left to itself, OpenBLAS
0.3.21 picks its AVX-512 "Cooperlake" kernels there; OPENBLAS_VERBOSE=2 prints the choice). PyTorch runs without
both variables, so OpenBLAS chooses for itself, unless --openblas-coretype names a core (e.g. SkylakeX).
Measured 2026-12-02 on Zen 5, bench-small: 1150-1290 ms with the forced Haswell, 700-1020 ms without.

Needs Debian's python3-torch and OpenBLAS's OpenMP build (see bench/reference/torch_baseline.py)."""
import argparse, json, os, statistics, subprocess, sys, datetime, platform

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TORCH = os.path.join(ROOT, "bench", "reference", "torch_baseline.py")
# Distill config -> torch_baseline.py arguments
CONFIGS = {
    "bench-small": ["--arch", "gpt2", "--config", "bench-small"],
    "bench-small-llama": ["--arch", "llama", "--config", "bench-small"],
    "bench-small-lora": ["--arch", "llama", "--lora", "8", "--config", "bench-small"],
    "gpt2-124M": ["--arch", "gpt2", "--config", "gpt2-124M"],
}


TCMALLOC = "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4"


def distill(config, steps, threads):
    out = subprocess.run([os.path.join(ROOT, "distill"), "bench", "engine", "--train-only", "--json",
                          "--config", config, "--steps", str(steps), "--threads", str(threads)],
                         check=True, capture_output=True, text=True).stdout
    doc = json.loads(out[out.index("{"):])
    row = doc["train"][0]
    return row["ms_per_step"], row.get("peak_rss_mb")


def torch(config, steps, threads, coretype):
    # The strongest PyTorch here, as bench/Distill.Bench.Cli/TorchPeer.cs starts it: OpenBLAS-OpenMP, tcmalloc, AVX-512 dispatch.
    env = dict(os.environ, LD_LIBRARY_PATH="/usr/lib/x86_64-linux-gnu/openblas-openmp")
    if os.path.exists(TCMALLOC):
        env["LD_PRELOAD"] = TCMALLOC
    if "avx512f" in open("/proc/cpuinfo").read():
        env.setdefault("ATEN_CPU_CAPABILITY", "avx512")
    env.pop("OPENBLAS_CORETYPE", None)
    env.pop("OPENBLAS_L2_SIZE", None)
    if coretype:
        env["OPENBLAS_CORETYPE"] = coretype
    p = subprocess.Popen(["/usr/bin/python3", TORCH, "--mode", "train", *CONFIGS[config], "--threads", str(threads),
                          "--steps", str(steps), "--warmup", "2"], stdout=subprocess.PIPE, text=True, env=env)
    out = p.stdout.read()
    # wait4 gives this child's own peak RSS (ru_maxrss, KiB on Linux); torch_baseline.py does not report it.
    _, status, usage = os.wait4(p.pid, 0)
    if status != 0:
        sys.exit(f"torch_baseline.py failed for {config} (status {status})")
    line = next(l for l in out.splitlines() if l.startswith("JSON "))
    return json.loads(line[5:])["ms_per_step"], round(usage.ru_maxrss / 1024)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--configs", default=",".join(CONFIGS))
    ap.add_argument("--openblas-coretype", default=None,
                    help="force this OPENBLAS_CORETYPE for PyTorch (default: none, OpenBLAS detects the CPU itself)")
    a = ap.parse_args()
    configs = a.configs.split(",")
    runs = {c: {"distill": [], "torch": [], "rss_d": None, "rss_t": None} for c in configs}
    for r in range(a.rounds):
        for c in configs:
            d, rd = distill(c, a.steps, a.threads)
            t, rt = torch(c, a.steps, a.threads, a.openblas_coretype)
            runs[c]["distill"].append(d); runs[c]["torch"].append(t)
            runs[c]["rss_d"], runs[c]["rss_t"] = rd, rt
            print(f"round {r + 1} {c}: distill {d:.0f} ms, torch {t:.0f} ms", file=sys.stderr, flush=True)
    print(f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.node()}, "
          f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}, threads {a.threads}, rounds {a.rounds} x steps {a.steps}, "
          f"PyTorch's OPENBLAS_CORETYPE: {a.openblas_coretype or 'unset (OpenBLAS detects the CPU)'}\n")
    print("| config | Distill ms (runs) | PyTorch ms (runs) | speed-up | peak RSS MB Distill / PyTorch |")
    print("|---|---|---|---|---|")
    for c in configs:
        d, t = statistics.median(runs[c]["distill"]), statistics.median(runs[c]["torch"])
        fmt = lambda xs: ", ".join(f"{x:.0f}" for x in xs)
        print(f"| {c} | {d:.0f} ({fmt(runs[c]['distill'])}) | {t:.0f} ({fmt(runs[c]['torch'])}) | {t / d:.2f}x | "
              f"{runs[c]['rss_d']} / {runs[c]['rss_t']} |")


if __name__ == "__main__":
    main()
