#!/usr/bin/env python3
"""PyTorch CPU eager doing the same work as models_bench.cs on the same SmolLM2-135M-shaped folder.

Same conventions as torch_baseline.py (beside this file) (plain torch, no transformers; threads set before import;
KV-cache decode), extended to the Llama family as transformers' modeling_llama.py computes it (GQA repeat_kv,
rotate_half RoPE with rope_theta, tied lm_head):
  load   : read model.safetensors (the file models_bench.cs wrote) into fp32 tensors
  decode : greedy, batch 1, 16-token prompt, 256 new tokens, one prefill + one single-token forward per token
The LoRA DPO step that used to be here (hand-built on both sides) is now measured through the library's Trainer:
`distill bench train --objectives dpo` beside bench/scripts/train_torch.py.
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

def lin(x, path):
    return F.linear(x, W[path + ".weight"])


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

print("JSON " + json.dumps(res))
