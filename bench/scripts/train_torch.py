#!/usr/bin/env python3
"""PyTorch CPU eager doing the work of `distill bench train` (bench/Distill.Bench.Cli/TrainerBench.cs): the
SmolLM2-135M shape (random weights, fp32, frozen), LoRA r 8 (alpha 16, B = 0 as PEFT) on q,k,v,o, AdamW lr 1e-4,
clip 1; no torch.compile.
  sft      : batch 4 x 256 tokens (32-token prompt, 224-token completion), mean cross-entropy over completion tokens
  token-kd : the same batch; teacher of the same shape forward under no_grad, forward KL(p_teacher || q_student) at
             tau 1, mean over completion tokens (TRL GKD's generalized_jsd_loss with beta 0)
  dpo      : one pair per step, 256-token prompt + 128-token chosen and rejected, one batch of 2 x 384; reference
             log-probs (adapters off, no_grad) computed once before training (TRL's precompute_ref_log_probs), so
             a step is the policy's forward + backward on both rows; summed completion log-probs, sigmoid DPO loss
             (Rafailov et al. 2023, Eq. 7), beta 0.1
The Llama forward is written as transformers' modeling_llama.py computes it (GQA repeat_kv, rotate_half RoPE,
tied lm_head, RMSNorm), as in bench/reference/models_torch.py. Prints one "JSON " line: objective -> ms_per_step
(median of the timed steps). Run: `env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE
LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp
LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 ATEN_CPU_CAPABILITY=avx512 /usr/bin/python3 bench/scripts/train_torch.py --threads 2`
(`distill bench train` runs it so). Without Debian's libopenblas0-openmp, torch's libblas.so.3 is the reference
(netlib) BLAS, tens of times slower: the "BLAS:" line names the library actually loaded.
"""
import argparse
import json
import math
import os
import statistics
import time

ap = argparse.ArgumentParser()
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--steps", type=int, default=3)
ap.add_argument("--warmup", type=int, default=1)
ap.add_argument("--objectives", default="sft,token-kd,dpo")
args = ap.parse_args()
for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[k] = str(args.threads)

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

torch.set_num_threads(args.threads)
V, H, I, L, NH, NKV, THETA, EPS = 49152, 576, 1536, 30, 9, 3, 100000.0, 1e-5
D = H // NH
R, ALPHA, BETA = 8, 16, 0.1
SHAPES = {"sft": (4, 256, 32), "token-kd": (4, 256, 32), "dpo": (2, 384, 256)}  # rows, tokens, prompt
inv = 1.0 / (THETA ** (torch.arange(0, D, 2, dtype=torch.int64).float() / D))


def model(seed):
    g = torch.Generator().manual_seed(seed)
    std = 0.041666666666666664
    W = {"embed": torch.randn(V, H, generator=g) * std, "norm": torch.ones(H)}
    for l in range(L):
        p = f"{l}."
        W[p + "ln1"], W[p + "ln2"] = torch.ones(H), torch.ones(H)
        for n, (o, i) in {"q": (NH * D, H), "k": (NKV * D, H), "v": (NKV * D, H), "o": (H, NH * D),
                          "gate": (I, H), "up": (I, H), "down": (H, I)}.items():
            W[p + n] = torch.randn(o, i, generator=g) * std
    return W


def forward(W, lora, ids):
    Bn, Tn = ids.shape
    pos = torch.arange(Tn)
    f = pos[:, None].float() * inv[None]
    emb = torch.cat((f, f), -1)
    cos, sin = emb.cos(), emb.sin()

    def rope(x):
        x1, x2 = x[..., : D // 2], x[..., D // 2:]
        return x * cos + torch.cat((-x2, x1), -1) * sin

    def lin(x, name):
        y = F.linear(x, W[name])
        if lora is not None and name in lora:
            a, b = lora[name]
            y = y + F.linear(F.linear(x, a), b) * (ALPHA / R)
        return y

    def rms(x, w):
        return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + EPS))

    h = W["embed"][ids]
    mask = torch.triu(torch.ones(Tn, Tn, dtype=torch.bool), 1)
    for l in range(L):
        p = f"{l}."
        x = rms(h, W[p + "ln1"])
        q = rope(lin(x, p + "q").view(Bn, Tn, NH, D).transpose(1, 2))
        k = rope(lin(x, p + "k").view(Bn, Tn, NKV, D).transpose(1, 2)).repeat_interleave(NH // NKV, dim=1)
        v = lin(x, p + "v").view(Bn, Tn, NKV, D).transpose(1, 2).repeat_interleave(NH // NKV, dim=1)
        a = F.softmax((q @ k.transpose(2, 3) / math.sqrt(D)).masked_fill(mask, float("-inf")), -1)
        h = h + lin((a @ v).transpose(1, 2).reshape(Bn, Tn, NH * D), p + "o")
        x = rms(h, W[p + "ln2"])
        h = h + lin(F.silu(lin(x, p + "gate")) * lin(x, p + "up"), p + "down")
    return F.linear(rms(h, W["norm"]), W["embed"])


student = model(1)
lora = {}
for l in range(L):
    for n in ("q", "k", "v", "o"):
        out_f, in_f = student[f"{l}.{n}"].shape
        a = torch.empty(R, in_f)
        torch.nn.init.kaiming_uniform_(a, a=math.sqrt(5))
        lora[f"{l}.{n}"] = (a.requires_grad_(), torch.zeros(out_f, R).requires_grad_())
params = [t for ab in lora.values() for t in ab]
g = torch.Generator().manual_seed(4)


def completion_logps(logits, labels):
    """Summed log p of the labelled tokens per row (TRL's get_batch_logps)."""
    keep = labels != -100
    lp = torch.gather(F.log_softmax(logits, -1), 2, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return (lp * keep).sum(-1)


blas = sorted({l.split()[-1] for l in open("/proc/self/maps") if "blas" in l.lower() and "/" in l})
print("BLAS: " + ", ".join(blas), flush=True)
res = {"blas": ", ".join(os.path.basename(b) for b in blas)}
for objective in args.objectives.split(","):
    B, T, P = SHAPES[objective]
    teacher = model(3) if objective == "token-kd" else None
    opt = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.0)
    steps = args.warmup + args.steps
    batches = []
    for s in range(steps):
        ids = torch.randint(0, V, (B, T), generator=g)
        labels = ids[:, 1:].clone()
        labels[:, : P - 1] = -100
        batches.append((ids, labels))
    if objective == "dpo":
        # the cached reference: the base model (adapters off) scored once over the dataset, outside the timed steps
        with torch.no_grad():
            ref = [completion_logps(forward(student, None, ids)[:, :-1], labels) for ids, labels in batches]
    times = []
    for s in range(steps):
        ids, labels = batches[s]
        t0 = time.perf_counter()
        if objective == "dpo":
            logp = completion_logps(forward(student, lora, ids)[:, :-1], labels)
            delta = (logp[0] - ref[s][0]) - (logp[1] - ref[s][1])
            loss = -F.logsigmoid(BETA * delta)
        else:
            logits = forward(student, lora, ids)[:, :-1].reshape(-1, V)
            keep = labels.reshape(-1) != -100
            if objective == "sft":
                loss = F.cross_entropy(logits, labels.reshape(-1), ignore_index=-100)
            else:
                with torch.no_grad():
                    t_logits = forward(teacher, None, ids)[:, :-1].reshape(-1, V)[keep]
                lq = F.log_softmax(logits[keep], -1)
                lp = F.log_softmax(t_logits, -1)
                loss = (lp.exp() * (lp - lq)).sum(-1).mean()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad()
        dt = time.perf_counter() - t0
        print(f"{objective} step {s}{' (warm-up)' if s < args.warmup else ''}: {dt * 1000:.0f} ms, loss {loss.item():.4f}", flush=True)
        if s >= args.warmup:
            times.append(dt)
    ms = statistics.median(times) * 1000
    res[objective] = {"ms_per_step": round(ms, 1), "tokens_per_s": round(B * T / (ms / 1000), 1), "step_ms": [round(t * 1000, 1) for t in times]}
    del teacher
print("JSON " + json.dumps(res))
