"""A LoRA adapter in exactly the layout PEFT (and TRL, which saves through PEFT) writes, for the committed tiny Llama
reference (models/llama), and the adapted model's outputs computed the way PEFT computes them before merging.

peft is not installable here (no PyPI; Debian has no python3-peft), so this script writes PEFT's format itself, after
peft 0.13's files: adapter_config.json with every key LoraConfig.to_dict() emits (values of a default LoraConfig except
r, lora_alpha, lora_dropout, target_modules, base_model_name_or_path), and adapter_model.safetensors with the keys
get_peft_model_state_dict() produces: "base_model.model.<module path>.lora_A.weight" (r, in) and ".lora_B.weight"
(out, r), adapter name removed. lora_A is drawn as PEFT's reset_lora_parameters does (kaiming_uniform_, a = sqrt(5));
lora_B is random (as after training: PEFT initializes it to zero). The forward is make_reference.py's plain-torch
llama_forward with every adapted F.linear replaced by PEFT's lora.Linear.forward (eval mode, dropout off):
    result = x W^T + scaling * lora_B(lora_A(x)),  scaling = lora_alpha / r
i.e. the unmerged computation; Distill must give these logits both with the adapter attached and after merging it.

Run: /usr/bin/python3 make_peft_adapter.py  -> models/llama-peft/{adapter_config.json, adapter_model.safetensors, expected.json}
"""
import json
import math
import os
import types

import torch
import torch.nn.functional as F

from safetensors_spec import load, save

HERE = os.path.dirname(os.path.abspath(__file__))
BASE = os.path.join(HERE, "models", "llama")
OUT = os.path.join(HERE, "models", "llama-peft")

# make_reference.py's forwards (everything above its weight generators), without running its generators
src = open(os.path.join(HERE, "make_reference.py")).read()
ns = {"__file__": os.path.join(HERE, "make_reference.py")}
exec(compile(src.split("# ---------------------------------------------------------------- random weights in HF layout")[0], "make_reference.py", "exec"), ns)

torch.manual_seed(1234)
with open(os.path.join(BASE, "config.json")) as f:
    cfg = json.load(f)
w = load(os.path.join(BASE, "model.safetensors"))
expected_base = json.load(open(os.path.join(BASE, "expected.json")))

R, ALPHA, DROPOUT = 4, 8, 0.05
TARGETS = ["q_proj", "v_proj", "o_proj", "down_proj"]
scaling = ALPHA / R

lora = {}   # id(base weight) -> (A, B)
tensors = {}
for l in range(cfg["num_hidden_layers"]):
    for module in ("self_attn.q_proj", "self_attn.v_proj", "self_attn.o_proj", "mlp.down_proj"):
        path = f"model.layers.{l}.{module}"
        W = w[path + ".weight"]
        out_f, in_f = W.shape
        A = torch.empty(R, in_f)
        torch.nn.init.kaiming_uniform_(A, a=math.sqrt(5))   # peft LoraLayer.reset_lora_parameters
        B = torch.randn(out_f, R) * 0.3                      # trained: non-zero
        lora[id(W)] = (A, B)
        tensors[f"base_model.model.{path}.lora_A.weight"] = A
        tensors[f"base_model.model.{path}.lora_B.weight"] = B


def peft_linear(x, weight, bias=None):
    y = F.linear(x, weight, bias)
    if id(weight) in lora:                                   # peft tuners/lora/layer.py Linear.forward (unmerged)
        A, B = lora[id(weight)]
        y = y + F.linear(F.linear(x, A), B) * scaling
    return y


ns["F"] = types.SimpleNamespace(**{n: getattr(F, n) for n in dir(F) if not n.startswith("_")})
ns["F"].linear = peft_linear

ids = torch.tensor(expected_base["input_ids"])
with torch.no_grad():
    logits = ns["llama_forward"](cfg, w, ids)
    prompt = expected_base["greedy"]["prompt"]
    seq = list(prompt)
    for _ in range(len(expected_base["greedy"]["tokens"])):
        seq.append(int(ns["llama_forward"](cfg, w, torch.tensor([seq]))[0, -1].argmax()))

os.makedirs(OUT, exist_ok=True)
# peft 0.13 LoraConfig.to_dict() for LoraConfig(r=4, lora_alpha=8, lora_dropout=0.05, target_modules=[...], task_type="CAUSAL_LM")
adapter_config = {
    "alpha_pattern": {}, "auto_mapping": None, "base_model_name_or_path": "tiny-llama", "bias": "none",
    "eva_config": None, "exclude_modules": None, "fan_in_fan_out": False, "inference_mode": True, "init_lora_weights": True,
    "layer_replication": None, "layers_pattern": None, "layers_to_transform": None, "loftq_config": {}, "lora_alpha": ALPHA,
    "lora_bias": False, "lora_dropout": DROPOUT, "megatron_config": None, "megatron_core": "megatron.core", "modules_to_save": None,
    "peft_type": "LORA", "r": R, "rank_pattern": {}, "revision": None, "target_modules": sorted(TARGETS), "task_type": "CAUSAL_LM",
    "use_dora": False, "use_rslora": False,
}
with open(os.path.join(OUT, "adapter_config.json"), "w") as f:
    json.dump(adapter_config, f, indent=2, sort_keys=True)
save(os.path.join(OUT, "adapter_model.safetensors"), tensors, {"format": "pt"})
with open(os.path.join(OUT, "expected.json"), "w") as f:
    json.dump({"input_ids": expected_base["input_ids"], "shape": list(logits.shape), "logits": logits.flatten().tolist(),
               "greedy": {"prompt": prompt, "tokens": seq[len(prompt):]}}, f)
print("adapter tensors", len(tensors), "greedy", seq[len(prompt):], "max |logit change| vs base",
      float((logits.flatten() - torch.tensor(expected_base["logits"])).abs().max()))
