#!/usr/bin/env python3
"""PyTorch CPU eager doing the same work as models_bench.cs on the same SmolLM2-135M-shaped folder.

Same conventions as torch_baseline.py (beside this file) (plain torch, no transformers; threads set before import;
KV-cache decode), extended to the Llama family as transformers' modeling_llama.py computes it (GQA repeat_kv,
rotate_half RoPE with rope_theta, tied lm_head) and to a LoRA DPO step:
  load   : read model.safetensors (the file models_bench.cs wrote) into fp32 tensors
  decode : greedy, batch 1, 16-token prompt, 256 new tokens, one prefill + one single-token forward per token
  dpo    : LoRA r 16 (alpha 16) on q,k,v,o; policy forward+backward on chosen and rejected (one batch of 2 × 384),
           reference forward on both with the adapters off under no_grad, sigmoid DPO loss (beta 0.1), AdamW
Run: /usr/bin/python3 bench/reference/models_torch.py --dir /tmp/smollm2-bench --threads 2
"""
import argparse
import json
import math
import os
import sys
import time

ap = argparse.ArgumentParser()
ap.add_argument("--dir", default="/tmp/smollm2-bench")
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--steps", type=int, default=3)
ap.add_argument("--new", type=int, default=256)
args = ap.parse_args()
for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[k] = str(args.threads)

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "Distill.Models.Tests", "reference"))
from safetensors_spec import load  # noqa: E402

torch.set_num_threads(args.threads)
cfg = json.load(open(os.path.join(args.dir, "config.json")))
t0 = time.perf_counter()
W = {k: v.float().contiguous() for k, v in load(os.path.join(args.dir, "model.safetensors")).items()}
load_s = time.perf_counter() - t0
NH, NKV, H = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["hidden_size"]
D, L, EPS, V = cfg.get("head_dim") or H // NH, cfg["num_hidden_layers"], cfg["rms_norm_eps"], cfg["vocab_size"]
inv = 1.0 / (cfg["rope_theta"] ** (torch.arange(0, D, 2, dtype=torch.int64).float() / D))
res = {"load_s": load_s, "params": sum(v.numel() for v in W.values()), "threads": args.threads}
print(f"load: {load_s:.2f} s, {res['params']:,} parameters")

LORA = {}          # module path -> (A, B); scaling 1 (alpha = r)
lora_on = [True]


def lin(x, path):
    y = F.linear(x, W[path + ".weight"])
    if lora_on[0] and path in LORA:
        a, b = LORA[path]
        y = y + F.linear(F.linear(x, a), b)
    return y


def rms(x, w):
    return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + EPS))


def rope(x, pos):                       # x: (B, heads, T, D)
    f = pos[:, None].float() * inv[None]
    emb = torch.cat((f, f), -1)
    x1, x2 = x[..., : D // 2], x[..., D // 2:]
    return x * emb.cos() + torch.cat((-x2, x1), -1) * emb.sin()


def forward(ids, cache=None, pos0=0):
    B, T = ids.shape
    pos = torch.arange(pos0, pos0 + T)
    h = W["model.embed_tokens.weight"][ids]
    for l in range(L):
        p = f"model.layers.{l}."
        x = rms(h, W[p + "input_layernorm.weight"])
        q = rope(lin(x, p + "self_attn.q_proj").view(B, T, NH, D).transpose(1, 2), pos)
        k = rope(lin(x, p + "self_attn.k_proj").view(B, T, NKV, D).transpose(1, 2), pos)
        v = lin(x, p + "self_attn.v_proj").view(B, T, NKV, D).transpose(1, 2)
        if cache is not None:
            if l in cache:
                k, v = torch.cat((cache[l][0], k), 2), torch.cat((cache[l][1], v), 2)
            cache[l] = (k, v)
        S = k.shape[2]
        k = k.repeat_interleave(NH // NKV, dim=1)       # repeat_kv
        v = v.repeat_interleave(NH // NKV, dim=1)
        a = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(D)
        mask = torch.arange(S)[None, :] > (torch.arange(T)[:, None] + pos0)
        a = F.softmax(a.masked_fill(mask, float("-inf")), -1)
        h = h + lin(torch.matmul(a, v).transpose(1, 2).reshape(B, T, NH * D), p + "self_attn.o_proj")
        x = rms(h, W[p + "post_attention_layernorm.weight"])
        h = h + lin(F.silu(lin(x, p + "mlp.gate_proj")) * lin(x, p + "mlp.up_proj"), p + "mlp.down_proj")
    return F.linear(rms(h, W["model.norm.weight"]), W.get("lm_head.weight", W["model.embed_tokens.weight"]))


prompt = torch.tensor([[(i * 7919) % V for i in range(16)]])


@torch.no_grad()
def greedy(n):
    cache = {}
    logits = forward(prompt, cache)
    out = []
    pos = prompt.shape[1]
    for _ in range(n):
        tok = int(logits[0, -1].argmax())
        out.append(tok)
        if len(out) == n:
            break
        logits = forward(torch.tensor([[tok]]), cache, pos)
        pos += 1
    return out


greedy(8)
t0, c0 = time.perf_counter(), time.process_time()
ids = greedy(args.new)
dt, dc = time.perf_counter() - t0, time.process_time() - c0
# CPU seconds (all threads) per token: less distorted than wall time when other processes share the cores
print(f"greedy decode: {len(ids)} tokens in {dt:.2f} s = {len(ids) / dt:.1f} tok/s, {dc / len(ids) * 1000:.0f} CPU-ms/token; first ids {','.join(map(str, ids[:8]))}")
res["decode_tok_s"] = len(ids) / dt
res["decode_cpu_ms_per_token"] = dc / len(ids) * 1000
res["decode_first_ids"] = ids[:16]

# LoRA DPO step
for p in W.values():
    p.requires_grad_(False)
g = torch.Generator().manual_seed(3)
for l in range(L):
    for n in ("q_proj", "k_proj", "v_proj", "o_proj"):
        path = f"model.layers.{l}.self_attn.{n}"
        out_f, in_f = W[path + ".weight"].shape
        a = torch.empty(16, in_f)
        torch.nn.init.kaiming_uniform_(a, a=math.sqrt(5))
        LORA[path] = (a.requires_grad_(), (torch.randn(out_f, 16, generator=g) * 0.01).requires_grad_())
opt = torch.optim.AdamW([t for ab in LORA.values() for t in ab], lr=1e-4, weight_decay=0.0)
P, C = 256, 128
T = P + C
batch = torch.randint(0, V, (2, T), generator=g)


def completion_logps(logits):
    lp = F.log_softmax(logits[:, P - 1:T - 1], -1)
    return lp.gather(-1, batch[:, P:, None]).squeeze(-1).sum(-1)     # (2,) summed over the 128 completion tokens


times, cpu = [], []
for s in range(args.steps + 1):
    t0, c0 = time.perf_counter(), time.process_time()
    with torch.no_grad():
        lora_on[0] = False
        ref = completion_logps(forward(batch))
        lora_on[0] = True
    pol = completion_logps(forward(batch))
    delta = (pol[0] - ref[0]) - (pol[1] - ref[1])
    loss = -F.logsigmoid(0.1 * delta)
    loss.backward()
    opt.step()
    opt.zero_grad(set_to_none=True)
    if s > 0:
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
times.sort()
print(f"LoRA DPO step (r 16 q,k,v,o; 2 x {T} tokens): median {times[len(times) // 2]:.2f} s over {len(times)} (min {times[0]:.2f}), {min(cpu):.1f} CPU-s; loss {float(loss):.4f}")
res["dpo_step_s"] = times[len(times) // 2]
res["dpo_step_min_s"] = times[0]
res["dpo_step_cpu_s"] = min(cpu)
print("JSON " + json.dumps(res))
