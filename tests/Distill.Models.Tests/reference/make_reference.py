"""Tiny random checkpoints in exact Hugging Face layout and their expected outputs, computed by plain-torch
forwards written to match transformers' modeling_llama.py / modeling_qwen2.py / modeling_mistral.py /
modeling_gpt2.py / modeling_phi.py / modeling_phi3.py (eager attention, float32). transformers itself is not installed here;
every convention below is cited from those files.

Run: /usr/bin/python3 make_reference.py   (Debian python3-torch 1.13). Writes models/<name>/{config.json,
model.safetensors} and models/<name>/expected.json:
  input_ids (B, T), logits (B, T, V) flattened, greedy: {prompt, tokens} (argmax, full recompute per step),
  logprob: {prompt, completion, sum, per_token} (natural log, completion tokens only).
"""
import json
import math
import os

import torch
import torch.nn.functional as F

from safetensors_spec import save

torch.manual_seed(0)
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "models")
V, H, NH, NKV, I, L = 64, 32, 4, 2, 48, 2


# ---------------------------------------------------------------- rotary (modeling_rope_utils.py)
def inv_freq(cfg, dim):
    base = cfg.get("rope_theta", 10000.0)
    inv = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))
    rs = cfg.get("rope_scaling")
    if rs is None:
        return inv
    rope_type = rs.get("rope_type", rs.get("type"))   # BC: "rope_type" was originally "type"
    if rope_type == "linear":
        return inv / rs["factor"]
    assert rope_type == "llama3"
    factor, low, high, old = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"], rs["original_max_position_embeddings"]
    low_wavelen, high_wavelen = old / low, old / high
    wavelen = 2 * math.pi / inv
    inv_llama = torch.where(wavelen > low_wavelen, inv / factor, inv)
    smooth = (old / wavelen - low) / (high - low)
    smoothed = (1 - smooth) * inv_llama / factor + smooth * inv_llama
    is_medium = ~(wavelen < high_wavelen) * ~(wavelen > low_wavelen)
    return torch.where(is_medium, smoothed, inv_llama)


def longrope(cfg, dim, T):
    """_compute_longrope_parameters with Phi3Config's original_max_position_embeddings (factor = max / original),
    and longrope_frequency_update: long factors when max(position_ids) + 1 = T exceeds original_max, else short;
    attention_factor = sqrt(1 + ln(factor) / ln(original_max)) when not given."""
    rs, base = cfg["rope_scaling"], cfg.get("rope_theta", 10000.0)
    original = cfg["original_max_position_embeddings"]
    factor = cfg["max_position_embeddings"] / original
    att = rs.get("attention_factor")
    if att is None:
        att = 1.0 if factor <= 1.0 else math.sqrt(1 + math.log(factor) / math.log(original))
    ext = torch.tensor(rs["long_factor"] if T > original else rs["short_factor"], dtype=torch.float32)
    inv_freq_shape = torch.arange(0, dim, 2, dtype=torch.int64).float() / dim
    return 1.0 / (ext * base ** inv_freq_shape), att


def cos_sin(cfg, dim, T):
    rs = cfg.get("rope_scaling")
    if rs is not None and rs.get("type", rs.get("rope_type")) in ("longrope", "su", "yarn") and cfg["model_type"] == "phi3":
        inv, att = longrope(cfg, dim, T)
    else:
        inv, att = inv_freq(cfg, dim), 1.0
    pos = torch.arange(T).float()
    freqs = pos[:, None] * inv[None, :]
    emb = torch.cat((freqs, freqs), dim=-1)            # LlamaRotaryEmbedding.forward
    return emb.cos() * att, emb.sin() * att


def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def apply_rope(x, cos, sin):                           # x: (B, heads, T, dim)
    return x * cos + rotate_half(x) * sin


def attention(q, k, v, window=None, key_mask=None):
    """Eager attention: softmax(q kᵀ/√d + causal mask) v in float32; GQA by repeat_kv. A sliding window keeps
    key j for query i iff j > i − window (masking_utils.py sliding_window_overlay: kv_idx > q_idx - sliding_window,
    AND-ed with causal_mask_function: kv_idx <= q_idx), so it masks j <= i − window."""
    B, nh, T, d = q.shape
    rep = nh // k.shape[1]
    k = k[:, :, None].expand(B, k.shape[1], rep, T, d).reshape(B, nh, T, d)   # repeat_kv
    v = v[:, :, None].expand(B, v.shape[1], rep, T, d).reshape(B, nh, T, d)
    w = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(d)
    i = torch.arange(T)[:, None]
    j = torch.arange(T)[None, :]
    masked = j > i
    if window is not None:
        masked = masked | (j <= i - window)
    if key_mask is not None:                  # attention_mask (B, T): 0 = padding, never attended to
        masked = masked | (key_mask[:, None, None, :] == 0)
    w = w.masked_fill(masked, torch.finfo(torch.float32).min)
    w = F.softmax(w, dim=-1, dtype=torch.float32)
    return torch.matmul(w, v)


def rms_norm(x, w, eps):                                # LlamaRMSNorm
    var = x.pow(2).mean(-1, keepdim=True)
    return w * (x * torch.rsqrt(var + eps))


def gelu_new(x):                                        # activations.NewGELUActivation
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


# ---------------------------------------------------------------- forwards
def window_of(cfg, layer):
    """Mistral and Phi-3: sliding_window on every layer. Qwen2 (configuration_qwen2.py): sliding_window only when
    use_sliding_window, and only on layers i >= max_window_layers ("sliding_attention" in layer_types)."""
    if cfg["model_type"] == "qwen2":
        if not cfg.get("use_sliding_window", False) or layer < cfg.get("max_window_layers", 28):
            return None
    return cfg.get("sliding_window")


def llama_forward(cfg, w, ids, key_mask=None, out="lm_head"):
    B, T = ids.shape
    nh, nkv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    d = cfg.get("head_dim") or cfg["hidden_size"] // nh
    eps = cfg["rms_norm_eps"]
    cos, sin = cos_sin(cfg, d, T)
    h = w["model.embed_tokens.weight"][ids]
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        x = rms_norm(h, w[p + "input_layernorm.weight"], eps)
        lin = lambda name, t: F.linear(t, w[p + name + ".weight"], w.get(p + name + ".bias"))
        q = lin("self_attn.q_proj", x).view(B, T, nh, d).transpose(1, 2)
        k = lin("self_attn.k_proj", x).view(B, T, nkv, d).transpose(1, 2)
        v = lin("self_attn.v_proj", x).view(B, T, nkv, d).transpose(1, 2)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        a = attention(q, k, v, window_of(cfg, l), key_mask).transpose(1, 2).reshape(B, T, nh * d)
        h = h + lin("self_attn.o_proj", a)
        x = rms_norm(h, w[p + "post_attention_layernorm.weight"], eps)
        h = h + lin("mlp.down_proj", F.silu(lin("mlp.gate_proj", x)) * lin("mlp.up_proj", x))
    h = rms_norm(h, w["model.norm.weight"], eps)
    if out == "score":                        # LlamaForSequenceClassification: score = Linear(hidden, num_labels, bias=False)
        return F.linear(h, w["score.weight"])
    head = w["model.embed_tokens.weight"] if cfg["tie_word_embeddings"] else w["lm_head.weight"]
    return F.linear(h, head)


def gpt2_forward(cfg, w, ids):
    B, T = ids.shape
    E, nh = cfg["n_embd"], cfg["n_head"]
    d, eps = E // nh, cfg["layer_norm_epsilon"]
    ln = lambda t, name: F.layer_norm(t, (E,), w[name + ".weight"], w[name + ".bias"], eps)
    conv1d = lambda t, name: torch.addmm(w[name + ".bias"], t.reshape(-1, t.shape[-1]), w[name + ".weight"]).view(*t.shape[:-1], -1)  # Conv1D: weight [in, out]
    h = w["transformer.wte.weight"][ids] + w["transformer.wpe.weight"][torch.arange(T)][None]
    for l in range(cfg["n_layer"]):
        p = f"transformer.h.{l}."
        x = ln(h, p + "ln_1")
        q, k, v = conv1d(x, p + "attn.c_attn").split(E, dim=2)
        q, k, v = (t.view(B, T, nh, d).transpose(1, 2) for t in (q, k, v))
        a = attention(q, k, v).transpose(1, 2).reshape(B, T, E)
        h = h + conv1d(a, p + "attn.c_proj")
        x = ln(h, p + "ln_2")
        h = h + conv1d(gelu_new(conv1d(x, p + "mlp.c_fc")), p + "mlp.c_proj")
    h = ln(h, "transformer.ln_f")
    tied = cfg.get("tie_word_embeddings", True)          # PretrainedConfig's default
    return F.linear(h, w["transformer.wte.weight"] if tied else w["lm_head.weight"])


def phi_forward(cfg, w, ids):
    B, T = ids.shape
    Hs, nh = cfg["hidden_size"], cfg["num_attention_heads"]
    d, eps = Hs // nh, cfg["layer_norm_eps"]
    rd = int(d * cfg["partial_rotary_factor"])
    cos, sin = cos_sin(cfg, rd, T)
    lin = lambda t, name: F.linear(t, w[name + ".weight"], w[name + ".bias"])
    h = w["model.embed_tokens.weight"][ids]
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        x = F.layer_norm(h, (Hs,), w[p + "input_layernorm.weight"], w[p + "input_layernorm.bias"], eps)
        q = lin(x, p + "self_attn.q_proj").view(B, T, nh, d).transpose(1, 2)
        k = lin(x, p + "self_attn.k_proj").view(B, T, nh, d).transpose(1, 2)
        v = lin(x, p + "self_attn.v_proj").view(B, T, nh, d).transpose(1, 2)
        # partial rotary: only the first rotary_dim dimensions of each head rotate
        q = torch.cat((apply_rope(q[..., :rd], cos, sin), q[..., rd:]), dim=-1)
        k = torch.cat((apply_rope(k[..., :rd], cos, sin), k[..., rd:]), dim=-1)
        a = attention(q, k, v).transpose(1, 2).reshape(B, T, Hs)
        attn_out = lin(a, p + "self_attn.dense")
        mlp_out = lin(gelu_new(lin(x, p + "mlp.fc1")), p + "mlp.fc2")
        h = attn_out + mlp_out + h                      # parallel attention and MLP on the same normed input
    h = F.layer_norm(h, (Hs,), w["model.final_layernorm.weight"], w["model.final_layernorm.bias"], eps)
    return lin(h, "lm_head")


def phi3_forward(cfg, w, ids):
    """modeling_phi3.py: Llama's block with fused qkv_proj (q, then k, then v columns) and gate_up_proj
    (chunk(2): gate first, up second; up * silu(gate)); partial rotary; sliding window on every layer; no biases."""
    B, T = ids.shape
    nh, nkv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    d = cfg.get("head_dim") or cfg["hidden_size"] // nh
    rd = int(d * cfg.get("partial_rotary_factor", 1.0))
    eps = cfg["rms_norm_eps"]
    cos, sin = cos_sin(cfg, rd, T)
    h = w["model.embed_tokens.weight"][ids]
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        x = rms_norm(h, w[p + "input_layernorm.weight"], eps)
        qkv = F.linear(x, w[p + "self_attn.qkv_proj.weight"])
        query_pos = nh * d
        q = qkv[..., :query_pos].view(B, T, nh, d).transpose(1, 2)
        k = qkv[..., query_pos: query_pos + nkv * d].view(B, T, nkv, d).transpose(1, 2)
        v = qkv[..., query_pos + nkv * d:].view(B, T, nkv, d).transpose(1, 2)
        q = torch.cat((apply_rope(q[..., :rd], cos, sin), q[..., rd:]), dim=-1)
        k = torch.cat((apply_rope(k[..., :rd], cos, sin), k[..., rd:]), dim=-1)
        a = attention(q, k, v, cfg.get("sliding_window")).transpose(1, 2).reshape(B, T, nh * d)
        h = h + F.linear(a, w[p + "self_attn.o_proj.weight"])
        x = rms_norm(h, w[p + "post_attention_layernorm.weight"], eps)
        gate, up = F.linear(x, w[p + "mlp.gate_up_proj.weight"]).chunk(2, dim=-1)
        h = h + F.linear(up * F.silu(gate), w[p + "mlp.down_proj.weight"])
    h = rms_norm(h, w["model.norm.weight"], eps)
    head = w["model.embed_tokens.weight"] if cfg["tie_word_embeddings"] else w["lm_head.weight"]
    return F.linear(h, head)


# ---------------------------------------------------------------- random weights in HF layout
def rnd(*shape, std=0.2):
    return torch.randn(*shape) * std


def llama_weights(cfg, qkv_bias=False):
    nh, nkv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    d = cfg.get("head_dim") or cfg["hidden_size"] // nh
    w = {"model.embed_tokens.weight": rnd(V, H, std=0.5)}
    for l in range(L):
        p = f"model.layers.{l}."
        w[p + "input_layernorm.weight"] = 1 + rnd(H, std=0.1)
        w[p + "self_attn.q_proj.weight"] = rnd(nh * d, H)
        w[p + "self_attn.k_proj.weight"] = rnd(nkv * d, H)
        w[p + "self_attn.v_proj.weight"] = rnd(nkv * d, H)
        if qkv_bias:
            for n in ("q", "k", "v"):
                w[p + f"self_attn.{n}_proj.bias"] = rnd(w[p + f"self_attn.{n}_proj.weight"].shape[0], std=0.1)
        w[p + "self_attn.o_proj.weight"] = rnd(H, nh * d)
        w[p + "post_attention_layernorm.weight"] = 1 + rnd(H, std=0.1)
        w[p + "mlp.gate_proj.weight"] = rnd(I, H)
        w[p + "mlp.up_proj.weight"] = rnd(I, H)
        w[p + "mlp.down_proj.weight"] = rnd(H, I)
    w["model.norm.weight"] = 1 + rnd(H, std=0.1)
    if not cfg["tie_word_embeddings"]:
        w["lm_head.weight"] = rnd(V, H)
    return w


def gpt2_weights(cfg):
    E, P = cfg["n_embd"], cfg["n_positions"]
    w = {"transformer.wte.weight": rnd(V, E, std=0.5), "transformer.wpe.weight": rnd(P, E, std=0.1)}
    for l in range(cfg["n_layer"]):
        p = f"transformer.h.{l}."
        for n in ("ln_1", "ln_2"):
            w[p + n + ".weight"], w[p + n + ".bias"] = 1 + rnd(E, std=0.1), rnd(E, std=0.1)
        w[p + "attn.c_attn.weight"], w[p + "attn.c_attn.bias"] = rnd(E, 3 * E), rnd(3 * E, std=0.1)
        w[p + "attn.c_proj.weight"], w[p + "attn.c_proj.bias"] = rnd(E, E), rnd(E, std=0.1)
        w[p + "mlp.c_fc.weight"], w[p + "mlp.c_fc.bias"] = rnd(E, 4 * E), rnd(4 * E, std=0.1)
        w[p + "mlp.c_proj.weight"], w[p + "mlp.c_proj.bias"] = rnd(4 * E, E), rnd(E, std=0.1)
    w["transformer.ln_f.weight"], w["transformer.ln_f.bias"] = 1 + rnd(E, std=0.1), rnd(E, std=0.1)
    return w


def phi_weights(cfg):
    w = {"model.embed_tokens.weight": rnd(V, H, std=0.5)}
    for l in range(L):
        p = f"model.layers.{l}."
        w[p + "input_layernorm.weight"], w[p + "input_layernorm.bias"] = 1 + rnd(H, std=0.1), rnd(H, std=0.1)
        for n in ("q_proj", "k_proj", "v_proj", "dense"):
            w[p + f"self_attn.{n}.weight"], w[p + f"self_attn.{n}.bias"] = rnd(H, H), rnd(H, std=0.1)
        w[p + "mlp.fc1.weight"], w[p + "mlp.fc1.bias"] = rnd(I, H), rnd(I, std=0.1)
        w[p + "mlp.fc2.weight"], w[p + "mlp.fc2.bias"] = rnd(H, I), rnd(H, std=0.1)
    w["model.final_layernorm.weight"], w["model.final_layernorm.bias"] = 1 + rnd(H, std=0.1), rnd(H, std=0.1)
    w["lm_head.weight"], w["lm_head.bias"] = rnd(V, H), rnd(V, std=0.1)
    return w


def phi3_weights(cfg):
    nh, nkv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    d = cfg.get("head_dim") or cfg["hidden_size"] // nh
    w = {"model.embed_tokens.weight": rnd(V, H, std=0.5)}
    for l in range(L):
        p = f"model.layers.{l}."
        w[p + "input_layernorm.weight"] = 1 + rnd(H, std=0.1)
        w[p + "self_attn.qkv_proj.weight"] = rnd((nh + 2 * nkv) * d, H)
        w[p + "self_attn.o_proj.weight"] = rnd(H, nh * d)
        w[p + "post_attention_layernorm.weight"] = 1 + rnd(H, std=0.1)
        w[p + "mlp.gate_up_proj.weight"] = rnd(2 * I, H)
        w[p + "mlp.down_proj.weight"] = rnd(H, I)
    w["model.norm.weight"] = 1 + rnd(H, std=0.1)
    if not cfg["tie_word_embeddings"]:
        w["lm_head.weight"] = rnd(V, H)
    return w


def llama_cfg(arch, model_type, **kw):
    c = {"architectures": [arch], "model_type": model_type, "vocab_size": V, "hidden_size": H, "intermediate_size": I,
         "num_hidden_layers": L, "num_attention_heads": NH, "num_key_value_heads": NKV, "hidden_act": "silu",
         "max_position_embeddings": 64, "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "rope_scaling": None,
         "tie_word_embeddings": False, "initializer_range": 0.02, "bos_token_id": 1, "eos_token_id": 2, "torch_dtype": "float32"}
    c.update(kw)
    return c


MODELS = {
    # tied embeddings, GQA 4/2, llama3 rope scaling (one medium-frequency band, three low-frequency ones)
    "llama": (llama_cfg("LlamaForCausalLM", "llama", tie_word_embeddings=True, rope_scaling={
        "rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
        "original_max_position_embeddings": 16}), llama_forward, lambda c: llama_weights(c)),
    # q/k/v biases, untied, larger rope_theta
    "qwen2": (llama_cfg("Qwen2ForCausalLM", "qwen2", rope_theta=1000000.0, use_sliding_window=False),
              llama_forward, lambda c: llama_weights(c, qkv_bias=True)),
    # sliding window of 4 (shorter than the inputs), linear rope scaling, explicit head_dim
    "mistral": (llama_cfg("MistralForCausalLM", "mistral", sliding_window=4, head_dim=8,
                          rope_scaling={"type": "linear", "factor": 2.0}), llama_forward, lambda c: llama_weights(c)),
    "gpt2": ({"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "vocab_size": V, "n_positions": 32, "n_embd": H,
              "n_layer": L, "n_head": NH, "n_inner": None, "activation_function": "gelu_new", "layer_norm_epsilon": 1e-5,
              "initializer_range": 0.02, "bos_token_id": 0, "eos_token_id": 0, "torch_dtype": "float32"},
             gpt2_forward, gpt2_weights),
    "phi": ({"architectures": ["PhiForCausalLM"], "model_type": "phi", "vocab_size": V, "hidden_size": H,
             "intermediate_size": I, "num_hidden_layers": L, "num_attention_heads": NH, "num_key_value_heads": NH,
             "hidden_act": "gelu_new", "max_position_embeddings": 64, "layer_norm_eps": 1e-5, "rope_theta": 10000.0,
             "partial_rotary_factor": 0.5, "qk_layernorm": False, "tie_word_embeddings": False, "bos_token_id": 1,
             "eos_token_id": 2, "torch_dtype": "float32"}, phi_forward, phi_weights),
    # Added later (after the models above, so their random draws are unchanged):
    # Mistral with window 8 on 24-token inputs (most queries lose keys), greedy decoding well past the window
    "mistral-window": (llama_cfg("MistralForCausalLM", "mistral", sliding_window=8), llama_forward, lambda c: llama_weights(c)),
    # Qwen2 with use_sliding_window: layer 0 full attention, layer 1 (>= max_window_layers) window 4
    "qwen2-window": (llama_cfg("Qwen2ForCausalLM", "qwen2", rope_theta=1000000.0, use_sliding_window=True, sliding_window=4,
                               max_window_layers=1), llama_forward, lambda c: llama_weights(c, qkv_bias=True)),
    # Phi-3: fused qkv_proj / gate_up_proj, GQA 4/2, partial rotary 0.5, sliding window 6 (< the 9-token inputs)
    "phi3": ({"architectures": ["Phi3ForCausalLM"], "model_type": "phi3", "vocab_size": V, "hidden_size": H,
              "intermediate_size": I, "num_hidden_layers": L, "num_attention_heads": NH, "num_key_value_heads": NKV,
              "hidden_act": "silu", "max_position_embeddings": 64, "original_max_position_embeddings": 64,
              "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "rope_scaling": None, "partial_rotary_factor": 0.5,
              "sliding_window": 6, "tie_word_embeddings": False, "initializer_range": 0.02, "resid_pdrop": 0.0,
              "embd_pdrop": 0.0, "attention_dropout": 0.0, "bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 0,
              "torch_dtype": "float32"}, phi3_forward, phi3_weights),
}
# Phi-3 with longrope (Phi-3-mini-128k's scheme): original_max 8 < the 9-token inputs, max_position_embeddings 32
# (factor 4, attention factor √(1 + ln 4 / ln 8)); greedy decoding starts short (lengths 5..8) and crosses to long.
MODELS["phi3-longrope"] = (dict(MODELS["phi3"][0], max_position_embeddings=32, original_max_position_embeddings=8,
                                partial_rotary_factor=1.0, sliding_window=None,
                                rope_scaling={"type": "longrope", "short_factor": [1.0, 1.25, 1.5, 2.0],
                                              "long_factor": [1.5, 3.0, 6.0, 12.0]}), phi3_forward, phi3_weights)

INPUT = torch.tensor([[5, 17, 3, 42, 8, 63, 0, 21, 9], [60, 1, 1, 33, 7, 12, 50, 2, 44]])
PROMPT = [5, 17, 3, 42]
COMPLETION = [8, 63, 0, 21, 9]
# mistral-window: T = 24 (three windows), a 10-token prompt and 14 greedy steps (positions 10..23)
LONG_INPUT = torch.tensor([[(7 * t + 3) % V for t in range(24)], [(11 * t + 5) % V for t in range(24)]])
LONG = {"input": LONG_INPUT, "prompt": LONG_INPUT[0, :10].tolist(), "completion": LONG_INPUT[0, 10:].tolist(), "steps": 14}
CASES = {"mistral-window": LONG}


@torch.no_grad()
def expected_outputs(cfg, forward, w, case=None):
    case = case or {"input": INPUT, "prompt": PROMPT, "completion": COMPLETION, "steps": 8}
    inp, prompt, completion = case["input"], case["prompt"], case["completion"]
    logits = forward(cfg, w, inp)
    seq = list(prompt)
    for _ in range(case["steps"]):
        seq.append(int(forward(cfg, w, torch.tensor([seq]))[0, -1].argmax()))
    full = torch.tensor([prompt + completion])
    lp = F.log_softmax(forward(cfg, w, full)[0].double(), dim=-1)
    per_token = [float(lp[len(prompt) - 1 + t, tok]) for t, tok in enumerate(completion)]
    return {"input_ids": inp.tolist(), "shape": list(logits.shape), "logits": logits.flatten().tolist(),
            "greedy": {"prompt": prompt, "tokens": seq[len(prompt):]},
            "logprob": {"prompt": prompt, "completion": completion, "sum": sum(per_token), "per_token": per_token}}


for name, (cfg, forward, make) in MODELS.items():
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    w = make(cfg)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    save(os.path.join(d, "model.safetensors"), w, {"format": "pt"})
    exp = expected_outputs(cfg, forward, w, CASES.get(name))
    with open(os.path.join(d, "expected.json"), "w") as f:
        json.dump(exp, f)
    print(name, "params", sum(t.numel() for t in w.values()), "greedy", exp["greedy"]["tokens"], "logprob", round(exp["logprob"]["sum"], 4))


# ---------------------------------------------------------------- reward model (LlamaForSequenceClassification)
# Appended after the language models, so their random draws are unchanged. num_labels = 1 (a reward model, as TRL's
# RewardTrainer builds it), pad_token_id 0, GQA 4/2. Pooling as LlamaForSequenceClassification.forward (transformers
# >= 4.48): non_pad_mask = input_ids != pad_token_id; last_non_pad_token = (arange(T) * non_pad_mask).argmax(-1);
# pooled = logits[arange(B), last_non_pad_token]. position_ids default to arange(T) even with left padding; the
# attention_mask hides padded keys. Row 3 has the pad id inside its text: the rightmost non-pad token still wins.
@torch.no_grad()
def reward_case():
    cfg = llama_cfg("LlamaForSequenceClassification", "llama", pad_token_id=0,
                    id2label={"0": "LABEL_0"}, label2id={"LABEL_0": 0})
    w = llama_weights(dict(cfg, tie_word_embeddings=True))          # no lm_head in a classifier
    w["score.weight"] = rnd(1, H)
    ids = torch.tensor([[5, 17, 3, 42, 8, 0, 0, 0],       # right padding
                        [0, 0, 0, 5, 17, 3, 42, 8],       # left padding, same text
                        [60, 1, 33, 7, 12, 50, 2, 44],    # no padding
                        [9, 0, 14, 3, 0, 0, 0, 0]])       # a pad id inside the text, then right padding
    mask = torch.tensor([[1, 1, 1, 1, 1, 0, 0, 0], [0, 0, 0, 1, 1, 1, 1, 1], [1] * 8, [1, 1, 1, 1, 0, 0, 0, 0]])
    token_scores = llama_forward(cfg, w, ids, key_mask=mask, out="score")            # (B, T, 1)
    non_pad = (ids != cfg["pad_token_id"]).int()
    last = (torch.arange(ids.shape[1]) * non_pad).argmax(-1)
    pooled = token_scores[torch.arange(ids.shape[0]), last]
    d = os.path.join(OUT, "llama-reward")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    save(os.path.join(d, "model.safetensors"), w, {"format": "pt"})
    with open(os.path.join(d, "expected.json"), "w") as f:
        json.dump({"input_ids": ids.tolist(), "attention_mask": mask.tolist(), "last_non_pad": last.tolist(),
                   "scores": pooled.flatten().tolist(), "token_scores": token_scores.flatten().tolist()}, f)
    print("llama-reward params", sum(t.numel() for t in w.values()), "last", last.tolist(), "scores", [round(x, 4) for x in pooled.flatten().tolist()])


reward_case()


# ---------------------------------------------------------------- checkpoints as they exist in the wild (issue 11)
# Appended after everything above, so the draws of the checkpoints above are unchanged.
#
# Tensor-name layouts. transformers' task classes hold the base model under base_model_prefix ("transformer" for GPT-2,
# "model" for the others) and save its tensors with that prefix; a base model saved alone has none. GPT-2's original
# release is stored that way: wte.weight, h.0.attn.c_attn.weight, ..., h.0.attn.bias (the causal-mask buffer) and no
# lm_head.weight (tied to wte). transformers 5 maps each stored key onto the model's names by adding or removing the
# prefix (core_model_loading.py rename_source_key), so head tensors (lm_head.weight, score.weight) keep their names.
def without_prefix(w, prefix):
    return {(k[len(prefix) + 1:] if k.startswith(prefix + ".") else k): v for k, v in w.items()}


# transformers 5 configs. `rope_parameters` holds rope_theta, rope_type, partial_rotary_factor and the scaling fields
# (modeling_rope_utils.py RopeParameters), or one such dict per layer type when its keys are the model's layer_types;
# `dtype` replaces `torch_dtype`. convert_rope_params_to_dict / standardize_rope_params move a top-level rope_theta /
# partial_rotary_factor into the dict with setdefault (the dict's value wins). v4_view turns such a config into the keys
# the forwards above read (rope_theta, rope_scaling, partial_rotary_factor), independently of Distill's reader.
def v4_view(cfg):
    c = dict(cfg)
    rp = c.pop("rope_parameters", None)
    if rp is None:
        return c
    if c.get("layer_types") and set(rp) <= set(c["layer_types"]):
        per_type = [rp[t] for t in sorted(set(c["layer_types"]))]
        assert all(d == per_type[0] for d in per_type), "one rotary table per model here"
        rp = per_type[0]
    rp = dict(rp)
    c["rope_theta"] = rp.pop("rope_theta", c.get("rope_theta", 10000.0))
    if "partial_rotary_factor" in rp:
        c["partial_rotary_factor"] = rp.pop("partial_rotary_factor")
    rope_type = rp.get("rope_type", rp.get("type", "default"))
    c["rope_scaling"] = None if rope_type == "default" else rp
    return c


def v5(cfg, rope_parameters, **kw):
    """A transformers 5 config.json: no rope_theta / rope_scaling / torch_dtype, rope_parameters and dtype instead."""
    c = {k: v for k, v in cfg.items() if k not in ("rope_theta", "rope_scaling", "torch_dtype", "partial_rotary_factor")}
    c.update(rope_parameters=rope_parameters, dtype="float32", transformers_version="5.0.0")
    c.update(kw)
    return c


GPT2_CFG = MODELS["gpt2"][0]
PHI3_CFG = MODELS["phi3"][0]
WILD = {
    # openai-community/gpt2's layout and config keys (n_ctx, summary_*, task_specific_params; no tie_word_embeddings,
    # torch_dtype or lm_head.weight), transformers 4
    "gpt2-original": (dict({k: v for k, v in GPT2_CFG.items() if k not in ("torch_dtype", "n_inner")}, n_ctx=32, resid_pdrop=0.1,
                           embd_pdrop=0.1, attn_pdrop=0.1, summary_activation=None, summary_first_dropout=0.1,
                           summary_proj_to_labels=True, summary_type="cls_index", summary_use_proj=True,
                           task_specific_params={"text-generation": {"do_sample": True, "max_length": 50}}),
                      gpt2_forward, gpt2_weights, "transformer", True),
    # GPT-2, transformers 5 config, untied head stored as lm_head.weight beside unprefixed base-model tensors
    "gpt2-v5-untied": (dict({k: v for k, v in GPT2_CFG.items() if k != "torch_dtype"}, tie_word_embeddings=False, dtype="float32",
                            transformers_version="5.0.0"),
                       gpt2_forward, lambda c: dict(gpt2_weights(c), **{"lm_head.weight": rnd(V, H)}), "transformer", False),
    # a Llama checkpoint without the "model." prefix, untied lm_head, transformers 4 config
    "llama-noprefix": (llama_cfg("LlamaForCausalLM", "llama"), llama_forward, lambda c: llama_weights(c), "model", False),
    # transformers 5: llama3 scaling and rope_theta 20000 inside rope_parameters (read as 10000 they would give other logits)
    "llama-v5": (v5(llama_cfg("LlamaForCausalLM", "llama", tie_word_embeddings=True),
                    {"rope_type": "llama3", "rope_theta": 20000.0, "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                     "original_max_position_embeddings": 16}),
                 llama_forward, lambda c: llama_weights(c), None, False),
    # transformers 5: linear scaling, explicit head_dim, sliding window 4, unprefixed
    "mistral-v5": (v5(llama_cfg("MistralForCausalLM", "mistral", sliding_window=4, head_dim=8),
                      {"rope_type": "linear", "factor": 2.0, "rope_theta": 20000.0}),
                   llama_forward, lambda c: llama_weights(c), "model", False),
    # transformers 5: layer_types and one rope_parameters dict per layer type (equal), window on layer 1, unprefixed
    "qwen2-v5": (v5(llama_cfg("Qwen2ForCausalLM", "qwen2", use_sliding_window=True, sliding_window=4, max_window_layers=1),
                    {"full_attention": {"rope_type": "default", "rope_theta": 20000.0},
                     "sliding_attention": {"rope_type": "default", "rope_theta": 20000.0}},
                    layer_types=["full_attention", "sliding_attention"]),
                 llama_forward, lambda c: llama_weights(c, qkv_bias=True), "model", False),
    # transformers 5 Phi: partial_rotary_factor 0.25 inside rope_parameters (PhiConfig's default would be 0.5)
    "phi-v5": (v5(MODELS["phi"][0], {"rope_type": "default", "rope_theta": 20000.0, "partial_rotary_factor": 0.25}),
               phi_forward, phi_weights, None, False),
    # transformers 5 Phi-3 with longrope in rope_parameters (original_max_position_embeddings inside and at the top level), unprefixed
    "phi3-v5": (v5(dict(PHI3_CFG, max_position_embeddings=32, original_max_position_embeddings=8, sliding_window=None),
                   {"rope_type": "longrope", "rope_theta": 20000.0, "partial_rotary_factor": 1.0, "original_max_position_embeddings": 8,
                    "short_factor": [1.0, 1.25, 1.5, 2.0], "long_factor": [1.5, 3.0, 6.0, 12.0]}),
                phi3_forward, phi3_weights, "model", False),
}

for name, (cfg, forward, make, strip, mask_buffers) in WILD.items():
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    view = v4_view(cfg)
    w = make(view)
    exp = expected_outputs(view, forward, w)
    stored = without_prefix(w, strip) if strip else dict(w)
    if mask_buffers:                          # GPT-2's original files carry the causal-mask buffer of every block
        P = cfg["n_positions"]
        for l in range(cfg["n_layer"]):
            stored[f"h.{l}.attn.bias"] = torch.tril(torch.ones(P, P)).view(1, 1, P, P)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    save(os.path.join(d, "model.safetensors"), stored, {"format": "pt"})
    with open(os.path.join(d, "expected.json"), "w") as f:
        json.dump(exp, f)
    print(name, "tensors", len(stored), "e.g.", sorted(stored)[0], "greedy", exp["greedy"]["tokens"], "logprob", round(exp["logprob"]["sum"], 4))


# The reward model of reward_case() without the "model." prefix (score.weight keeps its name): same config, same expected scores.
def reward_without_prefix():
    src, d = os.path.join(OUT, "llama-reward"), os.path.join(OUT, "llama-reward-noprefix")
    os.makedirs(d, exist_ok=True)
    from safetensors_spec import load
    w = load(os.path.join(src, "model.safetensors"))
    save(os.path.join(d, "model.safetensors"), without_prefix(w, "model"), {"format": "pt"})
    with open(os.path.join(src, "config.json")) as f, open(os.path.join(d, "config.json"), "w") as g:
        g.write(f.read())


reward_without_prefix()
