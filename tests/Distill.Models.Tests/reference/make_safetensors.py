"""Generates the safetensors interop fixtures in ./safetensors/ (run: /usr/bin/python3 make_safetensors.py).

Each file is written by safetensors_spec.save (independent of the C# code); expected.json holds every
tensor's values as float32 (what the C# reader must return), computed by torch's own dtype conversions.
"""
import json
import os

import torch

from safetensors_spec import save

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "safetensors")
os.makedirs(OUT, exist_ok=True)
g = torch.Generator().manual_seed(1234)

base = {
    "model.embed_tokens.weight": torch.randn(7, 5, generator=g) * 3,
    "model.norm.weight": torch.randn(5, generator=g),
    "scalar": torch.tensor(2.5),
    "empty": torch.zeros(0, 3),
    # values that exercise rounding, subnormals and extremes of each type
    "special": torch.tensor([0.0, -0.0, 1.0, -2.0, 65504.0, 1e-7, 3.0e38, 1.00390625, 1.01171875, 0.333333]),
}


def entry(v):
    # float32 bit patterns, so inf, -0.0 and NaN survive JSON exactly
    return {"shape": list(v.shape), "bits": v.float().flatten().view(torch.int32).tolist()}


expected = {}
for dtype, tag in [(torch.float32, "f32"), (torch.float16, "f16"), (torch.bfloat16, "bf16")]:
    tensors = {k: v.to(dtype) for k, v in base.items()}
    save(os.path.join(OUT, f"{tag}.safetensors"), tensors, {"format": "pt"})
    expected[tag] = {k: entry(v) for k, v in tensors.items()}

# one file mixing dtypes, with metadata
mixed = {"a": base["model.norm.weight"].to(torch.bfloat16), "b": base["model.embed_tokens.weight"].half(),
         "c": base["special"].float(), "ids": torch.arange(4, dtype=torch.int64)}
save(os.path.join(OUT, "mixed.safetensors"), mixed, {"format": "pt", "note": "mixed dtypes"})
expected["mixed"] = {k: entry(v) for k, v in mixed.items() if k != "ids"}

# a sharded checkpoint as transformers' save_pretrained writes it
shard_dir = os.path.join(OUT, "sharded")
os.makedirs(shard_dir, exist_ok=True)
shards = [{"model.embed_tokens.weight": base["model.embed_tokens.weight"]},
          {"model.norm.weight": base["model.norm.weight"], "lm_head.weight": base["model.embed_tokens.weight"] * 2}]
weight_map, total = {}, 0
for i, sh in enumerate(shards):
    name = f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors"
    save(os.path.join(shard_dir, name), sh, {"format": "pt"})
    for k, v in sh.items():
        weight_map[k] = name
        total += v.numel() * 4
with open(os.path.join(shard_dir, "model.safetensors.index.json"), "w") as f:
    json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)
expected["sharded"] = {k: entry(v) for sh in shards for k, v in sh.items()}

with open(os.path.join(OUT, "expected.json"), "w") as f:
    json.dump(expected, f)
print("wrote", sorted(os.listdir(OUT)))
