"""Tiny random Qwen3 and Gemma 3 checkpoints in exact Hugging Face layout and their expected outputs (issue 18), computed
by plain-torch forwards transcribed from transformers' modeling_qwen3.py and modeling_gemma3.py (eager attention,
float32). transformers is not installed here; every convention below cites those files. Kept apart from
make_reference.py so the random draws of the older checkpoints do not change.

Run: /usr/bin/python3 make_families.py   (Debian python3-torch 1.13). Writes models/<name>/{config.json,
model.safetensors, expected.json} in make_reference.py's format (input_ids, logits, greedy {prompt, tokens},
logprob {prompt, completion, sum, per_token}); greedy decoding runs 16 steps with a full recompute per step.
"""
import json
import math
import os

import torch
import torch.nn.functional as F

from safetensors_spec import save

torch.manual_seed(18)
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "models")
V, H, I = 64, 32, 48


# ---------------------------------------------------------------- shared pieces
def inv_freq(theta, dim, scaling=None):
    """_compute_default_rope_parameters: 1 / theta^(arange(0, dim, 2) / dim); "linear" divides by factor."""
    inv = 1.0 / (theta ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))
    if scaling is not None:
        kind = scaling.get("rope_type", scaling.get("type"))
        if kind == "linear":
            inv = inv / scaling["factor"]
        else:
            assert kind == "default", kind
    return inv


def cos_sin(inv, T):
    freqs = torch.arange(T).float()[:, None] * inv[None, :]
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def apply_rope(x, cos, sin):                           # x: (B, heads, T, dim)
    return x * cos + rotate_half(x) * sin


def attention(q, k, v, scaling, window=None):
    """eager_attention_forward: softmax(q kᵀ · scaling + mask) v, repeat_kv for GQA; the sliding mask keeps key j for
    query i iff i − window < j ≤ i (masking_utils.py sliding_window_overlay AND causal_mask_function)."""
    B, nh, T, d = q.shape
    rep = nh // k.shape[1]
    k = k[:, :, None].expand(B, k.shape[1], rep, T, d).reshape(B, nh, T, d)
    v = v[:, :, None].expand(B, v.shape[1], rep, T, d).reshape(B, nh, T, d)
    w = torch.matmul(q, k.transpose(2, 3)) * scaling
    i, j = torch.arange(T)[:, None], torch.arange(T)[None, :]
    masked = j > i
    if window is not None:
        masked = masked | (j <= i - window)
    w = w.masked_fill(masked, torch.finfo(torch.float32).min)
    return torch.matmul(F.softmax(w, dim=-1, dtype=torch.float32), v)


def rms_norm(x, w, eps):                                # Qwen3RMSNorm (= LlamaRMSNorm): w · (x · rsqrt(mean(x²) + eps))
    var = x.pow(2).mean(-1, keepdim=True)
    return w * (x * torch.rsqrt(var + eps))


def gemma_rms_norm(x, w, eps):                          # Gemma3RMSNorm: _norm(x.float()) · (1 + w.float())
    return (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)) * (1.0 + w)


def gelu_tanh(x):                                       # gelu_pytorch_tanh = F.gelu(approximate="tanh")
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


def rnd(*shape, std=0.2):
    return torch.randn(*shape) * std


# ---------------------------------------------------------------- Qwen3 (modeling_qwen3.py)
def qwen3_layer_types(cfg):
    """Qwen3Config.__post_init__: sliding_window only with use_sliding_window, then on layers i >= max_window_layers."""
    if cfg.get("layer_types"):
        return cfg["layer_types"]
    window = cfg.get("sliding_window", 4096) if cfg.get("use_sliding_window", False) else None
    return ["sliding_attention" if window is not None and i >= cfg.get("max_window_layers", 28) else "full_attention"
            for i in range(cfg["num_hidden_layers"])]


def qwen3_forward(cfg, w, ids):
    B, T = ids.shape
    nh, nkv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    d = cfg.get("head_dim", 128)                       # Qwen3Config: head_dim defaults to 128, not hidden // heads
    eps = cfg["rms_norm_eps"]
    rope = cfg.get("rope_parameters") or {"rope_theta": cfg.get("rope_theta", 10000.0), **(cfg.get("rope_scaling") or {})}
    cos, sin = cos_sin(inv_freq(rope["rope_theta"], d, rope if "rope_type" in rope or "type" in rope else None), T)
    types = qwen3_layer_types(cfg)
    h = w["model.embed_tokens.weight"][ids]
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        lin = lambda name, t: F.linear(t, w[p + name + ".weight"], w.get(p + name + ".bias"))
        x = rms_norm(h, w[p + "input_layernorm.weight"], eps)
        # Qwen3Attention: q_norm / k_norm over head_dim of (B, T, heads, head_dim), before the transpose and RoPE
        q = rms_norm(lin("self_attn.q_proj", x).view(B, T, nh, d), w[p + "self_attn.q_norm.weight"], eps).transpose(1, 2)
        k = rms_norm(lin("self_attn.k_proj", x).view(B, T, nkv, d), w[p + "self_attn.k_norm.weight"], eps).transpose(1, 2)
        v = lin("self_attn.v_proj", x).view(B, T, nkv, d).transpose(1, 2)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        window = cfg.get("sliding_window") if types[l] == "sliding_attention" else None
        a = attention(q, k, v, d ** -0.5, window).transpose(1, 2).reshape(B, T, nh * d)
        h = h + lin("self_attn.o_proj", a)
        x = rms_norm(h, w[p + "post_attention_layernorm.weight"], eps)
        h = h + lin("mlp.down_proj", F.silu(lin("mlp.gate_proj", x)) * lin("mlp.up_proj", x))
    h = rms_norm(h, w["model.norm.weight"], eps)
    head = w["model.embed_tokens.weight"] if cfg["tie_word_embeddings"] else w["lm_head.weight"]
    return F.linear(h, head)


def qwen3_weights(cfg):
    nh, nkv, d, L = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"], cfg["num_hidden_layers"]
    bias = cfg.get("attention_bias", False)
    # a tied head scores each token by its own embedding; a smaller spread keeps greedy decoding from repeating the last token
    w = {"model.embed_tokens.weight": rnd(V, H, std=0.25 if cfg["tie_word_embeddings"] else 0.5)}
    for l in range(L):
        p = f"model.layers.{l}."
        w[p + "input_layernorm.weight"] = 1 + rnd(H, std=0.1)
        for n, rows in (("q", nh * d), ("k", nkv * d), ("v", nkv * d)):
            w[p + f"self_attn.{n}_proj.weight"] = rnd(rows, H)
            if bias:
                w[p + f"self_attn.{n}_proj.bias"] = rnd(rows, std=0.1)
        w[p + "self_attn.o_proj.weight"] = rnd(H, nh * d)
        if bias:
            w[p + "self_attn.o_proj.bias"] = rnd(H, std=0.1)
        w[p + "self_attn.q_norm.weight"] = 1 + rnd(d, std=0.3)
        w[p + "self_attn.k_norm.weight"] = 1 + rnd(d, std=0.3)
        w[p + "post_attention_layernorm.weight"] = 1 + rnd(H, std=0.1)
        w[p + "mlp.gate_proj.weight"] = rnd(I, H)
        w[p + "mlp.up_proj.weight"] = rnd(I, H)
        w[p + "mlp.down_proj.weight"] = rnd(H, I)
    w["model.norm.weight"] = 1 + rnd(H, std=0.1)
    if not cfg["tie_word_embeddings"]:
        w["lm_head.weight"] = rnd(V, H)
    return w


# ---------------------------------------------------------------- Gemma 3 text (modeling_gemma3.py)
def gemma3_layer_types(cfg):
    """Gemma3TextConfig: layer_types, else sliding unless (i + 1) % sliding_window_pattern == 0 (default 6)."""
    if cfg.get("layer_types"):
        return cfg["layer_types"]
    pattern = cfg.get("sliding_window_pattern", cfg.get("_sliding_window_pattern", 6))
    return ["sliding_attention" if (i + 1) % pattern else "full_attention" for i in range(cfg["num_hidden_layers"])]


def gemma3_rope(cfg):
    """Per layer type (Gemma3RotaryEmbedding): full layers rope_theta with rope_scaling, sliding layers rope_local_base_freq
    (transformers 5: rope_parameters[layer_type], its rope_theta defaulting to those keys)."""
    rp = cfg.get("rope_parameters")
    if rp is None:
        full = dict(cfg.get("rope_scaling") or {"rope_type": "default"}, rope_theta=cfg.get("rope_theta", 1e6))
        sliding = {"rope_type": "default", "rope_theta": cfg.get("rope_local_base_freq", 1e4)}
    else:
        full = dict(rp["full_attention"])
        full.setdefault("rope_theta", cfg.get("rope_theta", 1e6))
        sliding = dict(rp["sliding_attention"])
        sliding.setdefault("rope_theta", cfg.get("rope_local_base_freq", 1e4))
    return {"full_attention": full, "sliding_attention": sliding}


def gemma3_forward(cfg, w, ids):
    B, T = ids.shape
    nh, nkv, d = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg.get("head_dim", 256)
    eps = cfg.get("rms_norm_eps", 1e-6)
    scaling = cfg.get("query_pre_attn_scalar", 256) ** -0.5          # Gemma3Attention.scaling
    types = gemma3_layer_types(cfg)
    ropes = {t: cos_sin(inv_freq(r["rope_theta"], d, r), T) for t, r in gemma3_rope(cfg).items()}
    # Gemma3TextScaledWordEmbedding: embed(ids) * embed_scale.to(weight.dtype), embed_scale = torch.tensor(hidden ** 0.5)
    h = w["model.embed_tokens.weight"][ids] * torch.tensor(cfg["hidden_size"] ** 0.5).to(torch.float32)
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        lin = lambda name, t: F.linear(t, w[p + name + ".weight"], w.get(p + name + ".bias"))
        x = gemma_rms_norm(h, w[p + "input_layernorm.weight"], eps)
        q = lin("self_attn.q_proj", x).view(B, T, -1, d).transpose(1, 2)
        k = lin("self_attn.k_proj", x).view(B, T, -1, d).transpose(1, 2)
        v = lin("self_attn.v_proj", x).view(B, T, -1, d).transpose(1, 2)
        q = gemma_rms_norm(q, w[p + "self_attn.q_norm.weight"], eps)      # q_norm / k_norm over head_dim, before RoPE
        k = gemma_rms_norm(k, w[p + "self_attn.k_norm.weight"], eps)
        cos, sin = ropes[types[l]]
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        window = cfg.get("sliding_window", 4096) if types[l] == "sliding_attention" else None
        a = attention(q, k, v, scaling, window).transpose(1, 2).reshape(B, T, nh * d)
        h = h + gemma_rms_norm(lin("self_attn.o_proj", a), w[p + "post_attention_layernorm.weight"], eps)
        x = gemma_rms_norm(h, w[p + "pre_feedforward_layernorm.weight"], eps)
        m = lin("mlp.down_proj", gelu_tanh(lin("mlp.gate_proj", x)) * lin("mlp.up_proj", x))
        h = h + gemma_rms_norm(m, w[p + "post_feedforward_layernorm.weight"], eps)
    h = gemma_rms_norm(h, w["model.norm.weight"], eps)
    head = w["model.embed_tokens.weight"] if cfg.get("tie_word_embeddings", True) else w["lm_head.weight"]
    logits = F.linear(h, head)
    cap = cfg.get("final_logit_softcapping")
    if cap is not None:                                              # Gemma3ForCausalLM.forward
        logits = torch.tanh(logits / cap) * cap
    return logits


def gemma3_weights(cfg):
    nh, nkv, d, L = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"], cfg["num_hidden_layers"]
    w = {"model.embed_tokens.weight": rnd(V, H, std=0.1)}
    norm = lambda n: rnd(n, std=0.3)                                 # stored as deviations from 1: the model uses 1 + w
    for l in range(L):
        p = f"model.layers.{l}."
        w[p + "input_layernorm.weight"] = norm(H)
        w[p + "self_attn.q_proj.weight"] = rnd(nh * d, H)
        w[p + "self_attn.k_proj.weight"] = rnd(nkv * d, H)
        w[p + "self_attn.v_proj.weight"] = rnd(nkv * d, H)
        w[p + "self_attn.o_proj.weight"] = rnd(H, nh * d)
        w[p + "self_attn.q_norm.weight"] = norm(d)
        w[p + "self_attn.k_norm.weight"] = norm(d)
        w[p + "post_attention_layernorm.weight"] = norm(H)
        w[p + "pre_feedforward_layernorm.weight"] = norm(H)
        w[p + "post_feedforward_layernorm.weight"] = norm(H)
        w[p + "mlp.gate_proj.weight"] = rnd(I, H)
        w[p + "mlp.up_proj.weight"] = rnd(I, H)
        w[p + "mlp.down_proj.weight"] = rnd(H, I)
    w["model.norm.weight"] = norm(H)
    if not cfg.get("tie_word_embeddings", True):
        w["lm_head.weight"] = rnd(V, H)
    return w


# ---------------------------------------------------------------- the checkpoints
def qwen3_cfg(**kw):
    c = {"architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3", "vocab_size": V, "hidden_size": H, "intermediate_size": I,
         "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16, "hidden_act": "silu",
         "max_position_embeddings": 64, "rms_norm_eps": 1e-6, "rope_theta": 1000.0, "rope_scaling": None, "attention_bias": False,
         "use_sliding_window": False, "sliding_window": None, "max_window_layers": 2, "tie_word_embeddings": True,
         "attention_dropout": 0.0, "initializer_range": 0.02, "bos_token_id": 1, "eos_token_id": 2, "torch_dtype": "float32"}
    c.update(kw)
    return c


def gemma3_cfg(**kw):
    c = {"architectures": ["Gemma3ForCausalLM"], "model_type": "gemma3_text", "vocab_size": V, "hidden_size": H,
         "intermediate_size": I, "num_hidden_layers": 4, "num_attention_heads": 4, "num_key_value_heads": 1, "head_dim": 16,
         "hidden_activation": "gelu_pytorch_tanh", "max_position_embeddings": 64, "rms_norm_eps": 1e-6, "rope_theta": 1000.0,
         "rope_local_base_freq": 10.0, "rope_scaling": {"rope_type": "linear", "factor": 2.0}, "query_pre_attn_scalar": 24,
         "sliding_window": 4, "sliding_window_pattern": 2, "final_logit_softcapping": 3.0, "attn_logit_softcapping": None,
         "attention_bias": False, "attention_dropout": 0.0, "use_bidirectional_attention": False, "cache_implementation": "hybrid",
         "tie_word_embeddings": True, "initializer_range": 0.02, "pad_token_id": 0, "bos_token_id": 2, "eos_token_id": 1,
         "torch_dtype": "float32"}
    c.update(kw)
    return c


def without_prefix(w, prefix="model"):
    return {(k[len(prefix) + 1:] if k.startswith(prefix + ".") else k): v for k, v in w.items()}


MODELS = {
    # tied, GQA 4/2, head_dim 16 while hidden / heads = 8 (Qwen3's head_dim is its own), transformers 4 config
    "qwen3": (qwen3_cfg(), qwen3_forward, qwen3_weights, False),
    # transformers 5 config (rope_parameters, dtype, layer_types), untied, attention_bias (q, k, v and o), sliding window 4 on
    # layer 1 (use_sliding_window, max_window_layers 1), tensor names without the "model." prefix
    "qwen3-v5": ({k: v for k, v in qwen3_cfg(tie_word_embeddings=False, attention_bias=True, use_sliding_window=True, sliding_window=4,
                                           max_window_layers=1, layer_types=["full_attention", "sliding_attention"],
                                           rope_parameters={"rope_type": "default", "rope_theta": 5000.0}, dtype="float32",
                                           transformers_version="5.0.0").items()
                  if k not in ("rope_theta", "rope_scaling", "torch_dtype")}, qwen3_forward, qwen3_weights, True),
    # 4 layers, sliding_window_pattern 2 (layers 0 and 2 slide with window 4 and local base 10; 1 and 3 are global with
    # base 1000 and linear scaling 2), query_pre_attn_scalar 24 ≠ head_dim 16, final_logit_softcapping 3, tied
    "gemma3": (gemma3_cfg(), gemma3_forward, gemma3_weights, False),
    # transformers 5 config as google/gemma-3-270m's shape of keys: layer_types (and the private _sliding_window_pattern),
    # rope_parameters per layer type, no softcapping, untied, unprefixed tensor names
    "gemma3-v5": ({k: v for k, v in gemma3_cfg(
        tie_word_embeddings=False, final_logit_softcapping=None, query_pre_attn_scalar=16, _sliding_window_pattern=3,
        layer_types=["sliding_attention", "sliding_attention", "full_attention", "sliding_attention"],
        rope_parameters={"full_attention": {"rope_type": "default", "rope_theta": 2000.0},
                         "sliding_attention": {"rope_type": "default", "rope_theta": 20.0}},
        dtype="float32", transformers_version="5.0.0").items()
        if k not in ("rope_theta", "rope_scaling", "rope_local_base_freq", "torch_dtype", "sliding_window_pattern")},
        gemma3_forward, gemma3_weights, True),
}

# 24-token inputs (six windows of 4), a 6-token prompt, 16 greedy steps (positions 6..21)
INPUT = torch.tensor([[(7 * t + 3) % V for t in range(24)], [(11 * t + 5) % V for t in range(24)]])
PROMPT = INPUT[0, :6].tolist()
COMPLETION = INPUT[0, 6:14].tolist()
STEPS = 16


@torch.no_grad()
def expected_outputs(cfg, forward, w):
    logits = forward(cfg, w, INPUT)
    seq = list(PROMPT)
    for _ in range(STEPS):
        seq.append(int(forward(cfg, w, torch.tensor([seq]))[0, -1].argmax()))
    lp = F.log_softmax(forward(cfg, w, torch.tensor([PROMPT + COMPLETION]))[0].double(), dim=-1)
    per_token = [float(lp[len(PROMPT) - 1 + t, tok]) for t, tok in enumerate(COMPLETION)]
    return {"input_ids": INPUT.tolist(), "shape": list(logits.shape), "logits": logits.flatten().tolist(),
            "greedy": {"prompt": PROMPT, "tokens": seq[len(PROMPT):]},
            "logprob": {"prompt": PROMPT, "completion": COMPLETION, "sum": sum(per_token), "per_token": per_token}}


for name, (cfg, forward, make, strip) in MODELS.items():
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    w = make(cfg)
    exp = expected_outputs(cfg, forward, w)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    save(os.path.join(d, "model.safetensors"), without_prefix(w) if strip else w, {"format": "pt"})
    with open(os.path.join(d, "expected.json"), "w") as f:
        json.dump(exp, f)
    lg = torch.tensor(exp["logits"])
    print(name, "params", sum(t.numel() for t in w.values()), "logits in", round(float(lg.min()), 3), round(float(lg.max()), 3),
          "greedy", exp["greedy"]["tokens"], "logprob", round(exp["logprob"]["sum"], 4))
