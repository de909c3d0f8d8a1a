#!/usr/bin/env python3
"""PyTorch CPU eager doing the same work as families_bench.cs on the same real-shape folder (qwen3-0.6b or gemma-3-270m,
random init; issue 18). Plain torch written after transformers' modeling_qwen3.py and modeling_gemma3.py (the forwards
of tests/Distill.Models.Tests/reference/make_families.py, with a KV cache and LoRA), same conventions as models_torch.py:
  decode : greedy, batch 1, 16-token prompt, --new tokens, one prefill + one single-token forward per token
  lora   : LoRA r 16 (alpha 16) on q,k,v,o,gate,up,down; one sequence of --len tokens; forward, next-token cross-entropy,
           backward, AdamW over the adapters
Run: /usr/bin/python3 bench/reference/families_torch.py --dir /tmp/qwen3-0.6b-bench --threads 2
"""
import argparse
import json
import math
import os
import sys
import time

ap = argparse.ArgumentParser()
ap.add_argument("--dir", required=True)
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--steps", type=int, default=2)
ap.add_argument("--new", type=int, default=32)
ap.add_argument("--len", type=int, default=256)
args = ap.parse_args()
for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[k] = str(args.threads)

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "Distill.Models.Tests", "reference"))
from safetensors_spec import load  # noqa: E402

torch.set_num_threads(args.threads)
cfg = json.load(open(os.path.join(args.dir, "config.json")))
GEMMA = cfg["model_type"] == "gemma3_text"
t0 = time.perf_counter()
W = {k: v.float().contiguous() for k, v in load(os.path.join(args.dir, "model.safetensors")).items()}
load_s = time.perf_counter() - t0
NH, NKV, H, D = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["hidden_size"], cfg["head_dim"]
L, EPS, V = cfg["num_hidden_layers"], cfg["rms_norm_eps"], cfg["vocab_size"]
res = {"load_s": load_s, "params": sum(v.numel() for v in W.values()), "threads": args.threads}
print(f"load: {load_s:.2f} s, {res['params']:,} parameters")


def inv_freq(theta, scaling=None):
    inv = 1.0 / (theta ** (torch.arange(0, D, 2, dtype=torch.int64).float() / D))
    if scaling and scaling.get("rope_type", scaling.get("type")) == "linear":
        inv = inv / scaling["factor"]
    return inv


if GEMMA:
    TYPES = cfg["layer_types"]
    INV = {"full_attention": inv_freq(cfg["rope_theta"], cfg.get("rope_scaling")), "sliding_attention": inv_freq(cfg["rope_local_base_freq"])}
    SCALING = cfg["query_pre_attn_scalar"] ** -0.5
    WINDOW = cfg["sliding_window"]
else:
    TYPES = ["full_attention"] * L
    INV = {"full_attention": inv_freq(cfg["rope_theta"], cfg.get("rope_scaling"))}
    SCALING = D ** -0.5
    WINDOW = None

LORA = {}


def lin(x, path):
    y = F.linear(x, W[path + ".weight"])
    if path in LORA:
        a, b = LORA[path]
        y = y + F.linear(F.linear(x, a), b)
    return y


def norm(x, w):
    y = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + EPS)
    return y * (1.0 + w) if GEMMA else w * y          # Gemma3RMSNorm / Qwen3RMSNorm


def rope(x, pos, inv):
    f = pos[:, None].float() * inv[None]
    emb = torch.cat((f, f), -1)
    x1, x2 = x[..., : D // 2], x[..., D // 2:]
    return x * emb.cos() + torch.cat((-x2, x1), -1) * emb.sin()


def gelu_tanh(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


def forward(ids, cache=None, pos0=0):
    B, T = ids.shape
    pos = torch.arange(pos0, pos0 + T)
    h = W["model.embed_tokens.weight"][ids]
    if GEMMA:
        h = h * torch.tensor(H ** 0.5)
    for l in range(L):
        p = f"model.layers.{l}."
        x = norm(h, W[p + "input_layernorm.weight"])
        q = norm(lin(x, p + "self_attn.q_proj").view(B, T, NH, D), W[p + "self_attn.q_norm.weight"]).transpose(1, 2)
        k = norm(lin(x, p + "self_attn.k_proj").view(B, T, NKV, D), W[p + "self_attn.k_norm.weight"]).transpose(1, 2)
        v = lin(x, p + "self_attn.v_proj").view(B, T, NKV, D).transpose(1, 2)
        inv = INV[TYPES[l]]
        q, k = rope(q, pos, inv), rope(k, pos, inv)
        if cache is not None:
            if l in cache:
                k, v = torch.cat((cache[l][0], k), 2), torch.cat((cache[l][1], v), 2)
            cache[l] = (k, v)
        S = k.shape[2]
        k = k.repeat_interleave(NH // NKV, dim=1)
        v = v.repeat_interleave(NH // NKV, dim=1)
        a = torch.matmul(q, k.transpose(2, 3)) * SCALING
        qi, kj = torch.arange(T)[:, None] + pos0, torch.arange(S)[None, :]
        mask = kj > qi
        if TYPES[l] == "sliding_attention":
            mask = mask | (kj <= qi - WINDOW)
        a = F.softmax(a.masked_fill(mask, float("-inf")), -1)
        o = lin(torch.matmul(a, v).transpose(1, 2).reshape(B, T, NH * D), p + "self_attn.o_proj")
        if GEMMA:
            h = h + norm(o, W[p + "post_attention_layernorm.weight"])
            x = norm(h, W[p + "pre_feedforward_layernorm.weight"])
            m = lin(gelu_tanh(lin(x, p + "mlp.gate_proj")) * lin(x, p + "mlp.up_proj"), p + "mlp.down_proj")
            h = h + norm(m, W[p + "post_feedforward_layernorm.weight"])
        else:
            h = h + o
            x = norm(h, W[p + "post_attention_layernorm.weight"])
            h = h + lin(F.silu(lin(x, p + "mlp.gate_proj")) * lin(x, p + "mlp.up_proj"), p + "mlp.down_proj")
    logits = F.linear(norm(h, W["model.norm.weight"]), W.get("lm_head.weight", W["model.embed_tokens.weight"]))
    cap = cfg.get("final_logit_softcapping")
    return torch.tanh(logits / cap) * cap if cap else logits


prompt = torch.tensor([[(i * 7919) % V for i in range(16)]])


@torch.no_grad()
def greedy(n):
    cache = {}
    logits = forward(prompt, cache)
    out, pos = [], prompt.shape[1]
    for _ in range(n):
        tok = int(logits[0, -1].argmax())
        out.append(tok)
        if len(out) == n:
            break
        logits = forward(torch.tensor([[tok]]), cache, pos)
        pos += 1
    return out


greedy(4)
t0, c0 = time.perf_counter(), time.process_time()
ids = greedy(args.new)
dt, dc = time.perf_counter() - t0, time.process_time() - c0
print(f"greedy decode: {len(ids)} tokens in {dt:.2f} s = {len(ids) / dt:.2f} tok/s, {dc / len(ids) * 1000:.0f} CPU-ms/token; first ids {','.join(map(str, ids[:8]))}")
res["decode_tok_s"] = len(ids) / dt
res["decode_cpu_ms_per_token"] = dc / len(ids) * 1000
res["decode_first_ids"] = ids[:16]

for t in W.values():
    t.requires_grad_(False)
g = torch.Generator().manual_seed(3)
for l in range(L):
    for n in ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj", "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"):
        path = f"model.layers.{l}.{n}"
        out_f, in_f = W[path + ".weight"].shape
        a = torch.empty(16, in_f)
        torch.nn.init.kaiming_uniform_(a, a=math.sqrt(5))
        LORA[path] = (a.requires_grad_(), torch.zeros(out_f, 16).requires_grad_())
opt = torch.optim.AdamW([t for ab in LORA.values() for t in ab], lr=1e-4, weight_decay=0.0)
batch = torch.randint(0, V, (1, args.len), generator=g)
times, cpu = [], []
for s in range(args.steps + 1):
    t0, c0 = time.perf_counter(), time.process_time()
    logits = forward(batch)
    loss = F.cross_entropy(logits[0, :-1], batch[0, 1:])
    loss.backward()
    opt.step()
    opt.zero_grad(set_to_none=True)
    del logits
    if s > 0:
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
times.sort()
print(f"LoRA step (r 16 on 7 projections; 1 x {args.len} tokens): median {times[len(times) // 2]:.2f} s over {len(times)} (min {times[0]:.2f}), {min(cpu):.1f} CPU-s; loss {float(loss):.4f}")
res["lora_step_s"] = times[len(times) // 2]
res["lora_step_min_s"] = times[0]
res["lora_step_cpu_s"] = min(cpu)
print("JSON " + json.dumps(res))
