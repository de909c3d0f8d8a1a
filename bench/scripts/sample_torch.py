#!/usr/bin/env python3
"""PyTorch CPU eager doing the work of `distill bench sample` (bench/Distill.Bench.Cli/SampleBench.cs): the
student's batched sampling, P prompts x N samples x K new tokens, with a KV cache, on the same weights (the
model folder and PEFT adapter the bench writes: model.safetensors + adapter_model.safetensors, read here without
the safetensors package) and the same prompts (prompts.json).

Work, as transformers' generate() does it for a left-padded batch, minus what a careful user would not pay:
  prefill : the prompts left-padded to the longest, position_ids = cumsum(attention_mask) - 1 (pads at 1, as
            prepare_inputs_for_generation), pad keys masked; once per prompt (chunks of 16), logits of the last
            position only; the keys/values then repeated for the N samples (generate() would prefill N times)
  decode  : one token per row per step for all P*N rows, keys/values written into a preallocated cache (no
            torch.cat), grouped-query attention without repeat_kv copies, LoRA branches unmerged (PEFT's forward)
  sampling: logits / temperature, TopKLogitsWarper, TopPLogitsWarper (transformers' code), softmax, multinomial
No EOS: every row generates exactly K tokens (the C# side also runs without EOS). Eager, no torch.compile.
Prints progress on stderr and one "JSON " line: prefill/decode seconds, ms per decode step (median), tokens/s,
and the greedy tokens of prompt 0 (--check) to compare with the C# side on the same weights.
Run: /usr/bin/python3 bench/scripts/sample_torch.py --dir DIR --threads 2 (`distill bench sample --torch` writes
DIR and runs this as bench/Distill.Bench.Cli/TorchPeer.cs starts the peer: OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE
unset, OpenBLAS-OpenMP, tcmalloc preloaded, ATEN_CPU_CAPABILITY=avx512 where the CPU has it).
"""
import argparse
import json
import math
import os
import statistics
import sys
import time

ap = argparse.ArgumentParser()
ap.add_argument("--dir", required=True, help="folder with model/, adapter/ and prompts.json written by the bench")
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--check", type=int, default=0, help="greedy tokens of prompt 0 to print for the cross-check")
args = ap.parse_args()
for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[k] = str(args.threads)

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

torch.set_num_threads(args.threads)


def read_safetensors(path):
    """The safetensors layout: u64 little-endian header size, a JSON header {name: {dtype, shape, data_offsets}}, the bytes."""
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        if meta["dtype"] != "F32":
            sys.exit(f"{path}: {name} is {meta['dtype']}, expected F32")
        a, b = meta["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(data, dtype=np.float32, count=(b - a) // 4, offset=a).copy()).reshape(meta["shape"])
    return out


spec = json.load(open(os.path.join(args.dir, "prompts.json")))
cfg = json.load(open(os.path.join(args.dir, "model", "config.json")))
acfg = json.load(open(os.path.join(args.dir, "adapter", "adapter_config.json")))
W = read_safetensors(os.path.join(args.dir, "model", "model.safetensors"))
A = read_safetensors(os.path.join(args.dir, "adapter", "adapter_model.safetensors"))
H, NH, NKV, L = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["num_hidden_layers"]
D, EPS, THETA, V = H // NH, cfg["rms_norm_eps"], cfg["rope_theta"], cfg["vocab_size"]
G = NH // NKV
NEG = torch.finfo(torch.float32).min  # transformers masks with the dtype minimum, not −inf: a pad query whose keys are all masked stays finite
embed = W["model.embed_tokens.weight"]
head = W.get("lm_head.weight", embed)
lora = {}
for key, a in A.items():
    if key.endswith(".lora_A.weight"):
        mod = key[len("base_model.model."):-len(".lora_A.weight")]
        lora[mod] = (a, A[key.replace("lora_A", "lora_B")], acfg["lora_alpha"] / acfg["r"])
inv = 1.0 / (THETA ** (torch.arange(0, D, 2, dtype=torch.int64).float() / D))


def lin(x, name):
    y = F.linear(x, W[name + ".weight"])
    if name in lora:
        a, b, s = lora[name]
        y = y + F.linear(F.linear(x, a), b) * s
    return y


def rms(x, w):
    return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + EPS))


def rope(x, pos):  # x (B, heads, T, D), pos (B, T): transformers' rotate_half convention
    f = pos[:, None, :, None].float() * inv
    emb = torch.cat((f, f), -1)
    x1, x2 = x[..., : D // 2], x[..., D // 2:]
    return x * emb.cos() + torch.cat((-x2, x1), -1) * emb.sin()


def forward(ids, pos, bias, Kc, Vc, rows, slot):
    """ids, pos (B, T); bias (B, 1, 1, Tk) additive key mask over cache slots [0, slot + T); writes slots [slot, slot + T)
    of cache rows `rows` (an index tensor in the prefill, slice(None), a view, in the decode)."""
    Bn, Tn = ids.shape
    h = embed[ids]
    for l in range(L):
        p = f"model.layers.{l}."
        x = rms(h, W[p + "input_layernorm.weight"])
        q = rope(lin(x, p + "self_attn.q_proj").view(Bn, Tn, NH, D).transpose(1, 2), pos)
        k = rope(lin(x, p + "self_attn.k_proj").view(Bn, Tn, NKV, D).transpose(1, 2), pos)
        v = lin(x, p + "self_attn.v_proj").view(Bn, Tn, NKV, D).transpose(1, 2)
        Kc[l][rows, :, slot:slot + Tn] = k
        Vc[l][rows, :, slot:slot + Tn] = v
        K, Vv = Kc[l][rows, :, : slot + Tn], Vc[l][rows, :, : slot + Tn]  # (B, NKV, Tk, D)
        qg = q.reshape(Bn, NKV, G * Tn, D)  # the G query heads of a kv head share its keys (no repeat_kv copy)
        s = qg @ K.transpose(2, 3) / math.sqrt(D)
        s = s.view(Bn, NKV, G, Tn, slot + Tn) + bias[:, :, None]
        if Tn > 1:
            s = s.masked_fill(torch.triu(torch.ones(Tn, slot + Tn, dtype=torch.bool), slot + 1), NEG)
        o = (F.softmax(s, -1).view(Bn, NKV, G * Tn, slot + Tn) @ Vv).view(Bn, NH, Tn, D)
        h = h + lin(o.transpose(1, 2).reshape(Bn, Tn, NH * D), p + "self_attn.o_proj")
        x = rms(h, W[p + "post_attention_layernorm.weight"])
        h = h + lin(F.silu(lin(x, p + "mlp.gate_proj")) * lin(x, p + "mlp.up_proj"), p + "mlp.down_proj")
    return F.linear(rms(h[:, -1], W["model.norm.weight"]), head)  # last position only


def warp(logits, temperature, top_k, top_p):
    """TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper as transformers writes them."""
    scores = logits / temperature
    if top_k > 0:
        kth = torch.topk(scores, min(top_k, scores.size(-1)))[0][..., -1, None]
        scores = scores.masked_fill(scores < kth, -float("inf"))
    if top_p < 1.0:
        sorted_logits, sorted_indices = torch.sort(scores, descending=False)
        cumulative_probs = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
        sorted_indices_to_remove = cumulative_probs <= (1 - top_p)
        sorted_indices_to_remove[..., -1:] = 0
        indices_to_remove = sorted_indices_to_remove.scatter(1, sorted_indices, sorted_indices_to_remove)
        scores = scores.masked_fill(indices_to_remove, -float("inf"))
    return scores


def generate(prompts, n, new_tokens, temperature, top_k, top_p, seed, log):
    P = len(prompts)
    B, Tp = P * n, max(len(p) for p in prompts)
    Kc = [torch.zeros(B, NKV, Tp + new_tokens, D) for _ in range(L)]
    Vc = [torch.zeros(B, NKV, Tp + new_tokens, D) for _ in range(L)]
    mask = torch.zeros(B, Tp + new_tokens, dtype=torch.long)
    for i, p in enumerate(prompts):
        mask[i * n:(i + 1) * n, Tp - len(p):] = 1  # left padding; generated slots are all real
    bias = torch.zeros(B, 1, 1, Tp + new_tokens).masked_fill(mask[:, None, None, :] == 0, NEG)
    positions = (mask.cumsum(-1) - 1).masked_fill(mask == 0, 1)
    g = torch.Generator().manual_seed(seed)
    out = torch.zeros(B, new_tokens, dtype=torch.long)
    with torch.no_grad():
        t0 = time.perf_counter()
        logits = torch.zeros(B, V)
        for c in range(0, P, 16):
            chunk = prompts[c:c + 16]
            ids = torch.zeros(len(chunk), Tp, dtype=torch.long)
            for i, p in enumerate(chunk):
                ids[i, Tp - len(p):] = torch.tensor(p)
            rows = torch.arange(c * n, (c + len(chunk)) * n, n)  # the first sample row of each prompt
            last = forward(ids, positions[rows, :Tp], bias[rows, :, :, :Tp], Kc, Vc, rows, 0)
            for j in range(n):
                logits[rows + j] = last
            for l in range(L):
                for j in range(1, n):
                    Kc[l][rows + j, :, :Tp] = Kc[l][rows, :, :Tp]
                    Vc[l][rows + j, :, :Tp] = Vc[l][rows, :, :Tp]
        prefill = time.perf_counter() - t0
        log(f"prefill: {prefill:.2f} s")
        steps = []
        all_rows = slice(None)  # a slice, not an index tensor: indexing with a tensor would copy the whole cache each step
        t1 = time.perf_counter()
        for t in range(new_tokens):
            s0 = time.perf_counter()
            if temperature == 0:
                tok = logits.argmax(-1)
            else:
                tok = torch.multinomial(F.softmax(warp(logits, temperature, top_k, top_p), -1), 1, generator=g)[:, 0]
            out[:, t] = tok
            if t + 1 < new_tokens:
                slot = Tp + t
                logits = forward(tok[:, None], positions[:, slot:slot + 1], bias[:, :, :, : slot + 1], Kc, Vc, all_rows, slot)
            steps.append(time.perf_counter() - s0)
            if t % 16 == 0:
                log(f"step {t}: {steps[-1] * 1000:.0f} ms")
        decode = time.perf_counter() - t1
    return out, prefill, decode, steps


log = lambda s: print(s, file=sys.stderr, flush=True)  # noqa: E731
res = {}
if args.check > 0:
    ids, _, _, _ = generate([spec["prompts"][0]], 1, args.check, 0.0, 0, 1.0, 0, lambda s: None)
    res["greedy_prompt0"] = ids[0].tolist()
# warm-up: a tiny run through the same code
generate(spec["prompts"][:2], 2, 2, spec["temperature"], spec["top_k"], spec["top_p"], 1, lambda s: None)
out, prefill, decode, steps = generate(spec["prompts"], spec["samples"], spec["new_tokens"], spec["temperature"], spec["top_k"], spec["top_p"], spec["seed"], log)
tokens = out.numel()
res.update({
    "tokens": tokens, "prefill_s": round(prefill, 3), "decode_s": round(decode, 3),
    "ms_per_step": round(statistics.median(steps) * 1000, 1),
    "tokens_per_s": round(tokens / (prefill + decode), 1),
})
print("JSON " + json.dumps(res))
